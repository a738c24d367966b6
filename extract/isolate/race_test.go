//go:build linux && race

package isolate_test

// oomMessage is what a worker's death from its memory limit says. Under the
// race detector the worker dies in the detector's own allocator, not with
// the Go runtime's "out of memory".
const oomMessage = "the parser process died"
