//go:build !linux

package transcribe

import "os/exec"

// isolate does nothing outside Linux: exec.CommandContext kills the
// process itself (not its children) when the context ends.
func isolate(*exec.Cmd) {}
