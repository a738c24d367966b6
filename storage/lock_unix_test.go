//go:build unix

package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A temporary file locked by a live Put (here: held and locked by the
// test) survives the sweep of a second store on the same directory.
func TestLocalBlobsSweepKeepsLiveTempFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "blobs")
	b := newTestBlobsAt(t, dir)
	live, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := lock(live); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.tmp, "put-orphan"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	newTestBlobsAt(t, dir)
	got := files(t, b.tmp)
	if len(got) != 1 || got[0] != filepath.Base(live.Name()) {
		t.Errorf("after sweep: %v, want only the live %s", got, filepath.Base(live.Name()))
	}
	// The live writer can still complete.
	if _, err := b.Put(t.Context(), bytes.NewReader([]byte("ok"))); err != nil {
		t.Fatal(err)
	}
}
