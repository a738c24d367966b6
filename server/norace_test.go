//go:build !race

package server_test

// raceEnabled: the race detector slows the server several times over.
const raceEnabled = false
