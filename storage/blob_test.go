package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func newTestBlobs(t *testing.T) *LocalBlobs {
	t.Helper()
	b, err := NewLocalBlobs(filepath.Join(t.TempDir(), "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertNoTemp(t *testing.T, b *LocalBlobs) {
	t.Helper()
	if left := files(t, b.tmp); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLocalBlobsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newTestBlobs(t)
	data := []byte("hello, quarry")

	info, err := b.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != sum(data) || info.Size != int64(len(data)) {
		t.Fatalf("Put = %+v, want key %s size %d", info, sum(data), len(data))
	}
	k := info.Key
	if got := files(t, b.Dir()); len(got) != 1 || got[0] != filepath.Join(k[:2], k[2:4], k) {
		t.Errorf("layout = %v", got)
	}
	assertNoTemp(t, b)

	if ok, err := b.Exists(ctx, k); err != nil || !ok {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	blob, err := b.Open(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if blob.Size() != int64(len(data)) {
		t.Errorf("Size = %d", blob.Size())
	}
	p := make([]byte, 6)
	if n, err := blob.ReadAt(p, 7); err != nil || string(p[:n]) != "quarry" {
		t.Errorf("ReadAt = %q, %v", p[:n], err)
	}
	all, err := io.ReadAll(blob)
	if err != nil || !bytes.Equal(all, data) {
		t.Errorf("ReadAll = %q, %v", all, err)
	}
	if err := blob.Close(); err != nil {
		t.Fatal(err)
	}

	if err := b.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Exists(ctx, k); err != nil || ok {
		t.Errorf("Exists after Delete = %v, %v", ok, err)
	}
	_, err = b.Open(ctx, k)
	if !errors.Is(err, ErrBlobNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Delete: %v, want ErrBlobNotFound and fs.ErrNotExist", err)
	}
	if err := b.Delete(ctx, k); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	assertNoTemp(t, b)
}

func TestLocalBlobsEmpty(t *testing.T) {
	t.Parallel()
	b := newTestBlobs(t)
	info, err := b.Put(t.Context(), bytes.NewReader(nil))
	if err != nil || info.Size != 0 || info.Key != sum(nil) {
		t.Fatalf("Put empty = %+v, %v", info, err)
	}
}

func TestLocalBlobsInvalidKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newTestBlobs(t)
	for _, key := range []string{"", "../../etc/passwd", sum(nil)[:63], "ZZ" + sum(nil)[2:], sum(nil) + "/..", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"} {
		if _, err := b.Open(ctx, key); !errors.Is(err, ErrInvalidBlobKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidBlobKey", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, ErrInvalidBlobKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidBlobKey", key, err)
		}
		if _, err := b.Exists(ctx, key); !errors.Is(err, ErrInvalidBlobKey) {
			t.Errorf("Exists(%q) = %v, want ErrInvalidBlobKey", key, err)
		}
	}
}

func TestLocalBlobsIdenticalContentStoredOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newTestBlobs(t)
	data := bytes.Repeat([]byte("same "), 1000)
	var keys []string
	for range 3 {
		info, err := b.Put(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("keys differ: %v", keys)
	}
	if got := files(t, b.Dir()); len(got) != 1 {
		t.Errorf("files = %v, want one blob", got)
	}
}

func TestLocalBlobsConcurrentPutSameContent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newTestBlobs(t)
	data := bytes.Repeat([]byte{0xAB, 0xCD}, 300<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			info, err := b.Put(ctx, bytes.NewReader(data))
			if err == nil && info.Key != sum(data) {
				err = errors.New("wrong key " + info.Key)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := files(t, b.Dir()); len(got) != 1 {
		t.Errorf("files = %v, want one blob", got)
	}
	blob, err := b.Open(ctx, sum(data))
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	got, err := io.ReadAll(blob)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("stored content differs (err %v)", err)
	}
}

// failingReader returns n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func TestLocalBlobsReaderErrorStoresNothing(t *testing.T) {
	t.Parallel()
	b := newTestBlobs(t)
	boom := errors.New("connection reset")
	_, err := b.Put(t.Context(), &failingReader{n: 1 << 20, err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want the reader's error wrapped", err)
	}
	if got := files(t, b.Dir()); len(got) != 0 {
		t.Errorf("files left: %v", got)
	}
}

func TestLocalBlobsCancelledPut(t *testing.T) {
	t.Parallel()
	b := newTestBlobs(t)
	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelAfter{cancel: cancel, left: 3}
	_, err := b.Put(ctx, r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if got := files(t, b.Dir()); len(got) != 0 {
		t.Errorf("files left: %v", got)
	}
}

// cancelAfter is an endless reader that cancels its context after a few reads.
type cancelAfter struct {
	cancel context.CancelFunc
	left   int
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.left--; c.left == 0 {
		c.cancel()
	}
	return len(p), nil
}

// TestLocalBlobsSweepsOrphans is T58(a) at the store level: temporary files
// left by a crash mid-Put are removed when the store opens.
func TestLocalBlobsSweepsOrphans(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "blobs")
	b := newTestBlobsAt(t, dir)
	kept, err := b.Put(t.Context(), bytes.NewReader([]byte("kept")))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"put-123", "put-456", "ping-1"} {
		if err := os.WriteFile(filepath.Join(b.tmp, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	newTestBlobsAt(t, dir)
	assertNoTemp(t, b)
	if ok, _ := b.Exists(t.Context(), kept.Key); !ok {
		t.Error("a complete blob was swept")
	}
}

func newTestBlobsAt(t *testing.T, dir string) *LocalBlobs {
	t.Helper()
	b, err := NewLocalBlobs(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pattern is 64 KiB of varied bytes (its length is prime-ish, so blocks
// do not repeat on power-of-two boundaries).
var pattern = func() []byte {
	p := make([]byte, 65521)
	for i := range p {
		p[i] = byte(i*31 + i>>8)
	}
	return p
}()

// patternReader yields n bytes of a repeating pattern without allocating,
// and samples the heap every 8 MiB.
type patternReader struct {
	n, read  int64
	nextPeek int64
	peak     uint64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n-r.read))
	for i := 0; i < k; {
		off := int((r.read + int64(i)) % int64(len(pattern)))
		i += copy(p[i:k], pattern[off:])
	}
	r.read += int64(k)
	if r.read >= r.nextPeek {
		r.nextPeek += 8 << 20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.peak = max(r.peak, ms.HeapInuse)
	}
	return k, nil
}

// TestLocalBlobsPutLargeFlatHeap streams 200 MiB through Put and checks that
// the heap does not grow with the blob (loosely: < 32 MiB).
func TestLocalBlobsPutLargeFlatHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MiB")
	}
	b := newTestBlobs(t)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	r := &patternReader{n: 200 << 20}
	info, err := b.Put(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 200<<20 {
		t.Fatalf("size = %d", info.Size)
	}
	growth := int64(r.peak) - int64(base)
	t.Logf("heap growth while streaming 200 MiB: %.1f MiB", float64(growth)/(1<<20))
	if growth > 32<<20 {
		t.Errorf("heap grew by %d MiB while streaming, want < 32 MiB", growth>>20)
	}
}

func BenchmarkLocalBlobsPut(b *testing.B) {
	blobs, err := NewLocalBlobs(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	const size = 16 << 20
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		r := &patternReader{n: size, read: int64(i) * 7} // distinct content each time
		r.n += r.read
		if _, err := blobs.Put(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}
