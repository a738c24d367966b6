//go:build linux && !race

package isolate_test

// oomMessage is what a worker's death from its memory limit says.
const oomMessage = "the parser process died: out of memory (exit status 2)"
