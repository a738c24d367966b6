//go:build !unix

package storage

import "os"

// lock is a no-op where flock is unavailable.
func lock(*os.File) error { return nil }

// tryLock always succeeds where flock is unavailable: a sweep then removes
// every temporary file, so only one process should use a store there.
func tryLock(*os.File) (bool, error) { return true, nil }
