//go:build !linux

package proc

import "os/exec"

// Isolate is a fallback for systems other than Linux (Quarry's target):
// exec.CommandContext kills the process itself.
func Isolate(*exec.Cmd) {}
