//go:build !linux

package media

import "os/exec"

// isolate is a fallback for systems other than Linux (Quarry's target):
// exec.CommandContext kills the process itself.
func isolate(*exec.Cmd) {}
