package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// BlobInfo describes a stored blob.
type BlobInfo struct {
	// Key is the content address: the lower-case hex SHA-256 of the bytes.
	Key string
	// Size is the length in bytes.
	Size int64
}

// Blob is an open stored blob. Read streams it from the start; ReadAt reads
// anywhere, concurrently with other ReadAt calls. Close it when done.
type Blob interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Size() int64
}

// BlobStore stores immutable blobs by content address.
type BlobStore interface {
	// Put streams r into the store and returns its key and size. Identical
	// content is stored once. A read error from r (or ctx ending) stores
	// nothing and is returned wrapped.
	Put(ctx context.Context, r io.Reader) (BlobInfo, error)
	// Open opens a blob; a missing one answers an error wrapping
	// ErrBlobNotFound (and so fs.ErrNotExist).
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// Exists reports whether a blob is stored.
	Exists(ctx context.Context, key string) (bool, error)
}

var (
	// ErrBlobNotFound means no blob has the key. It wraps fs.ErrNotExist.
	ErrBlobNotFound = fmt.Errorf("storage: blob not found: %w", fs.ErrNotExist)
	// ErrInvalidBlobKey means a key is not 64 lower-case hex digits, so it
	// can name no blob (and no path outside the store).
	ErrInvalidBlobKey = errors.New("storage: invalid blob key")
)

// LocalBlobs is a BlobStore in a local directory: dir/ab/cd/<sha256>, with
// writes staged in dir/.tmp and renamed into place once complete and
// fsynced, so a blob is either whole or absent.
//
// Several LocalBlobs (and processes) may share a directory: a temporary
// file being written is locked, and only unlocked ones (left by a crash)
// are swept.
type LocalBlobs struct {
	dir    string
	tmp    string
	logger *slog.Logger
}

var _ BlobStore = (*LocalBlobs)(nil)

const tmpDirName = ".tmp"

// copyBufSize is the buffer Put streams through; memory use of a Put does
// not depend on the blob size.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// NewLocalBlobs opens (creating with mode 0700) the store at dir and
// removes temporary files that an interrupted Put left behind.
func NewLocalBlobs(dir string, logger *slog.Logger) (*LocalBlobs, error) {
	if dir == "" {
		return nil, errors.New("storage: NewLocalBlobs: empty dir")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: blobs: %w", err)
	}
	b := &LocalBlobs{dir: abs, tmp: filepath.Join(abs, tmpDirName), logger: logger}
	if err := os.MkdirAll(b.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("storage: blobs: %w", err)
	}
	if err := b.sweep(); err != nil {
		return nil, fmt.Errorf("storage: blobs: sweep: %w", err)
	}
	return b, nil
}

// Dir returns the store's directory.
func (b *LocalBlobs) Dir() string { return b.dir }

// sweep removes temporary files no live Put holds.
func (b *LocalBlobs) sweep() error {
	entries, err := os.ReadDir(b.tmp)
	if err != nil {
		return err
	}
	removed := 0
	for _, e := range entries {
		p := filepath.Join(b.tmp, e.Name())
		if e.IsDir() || !isTempName(e.Name()) {
			continue
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // finished meanwhile
			}
			return err
		}
		ok, err := tryLock(f)
		if err == nil && ok {
			err = os.Remove(p)
			if err == nil {
				removed++
			} else if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		}
		_ = f.Close()
		if err != nil {
			return err
		}
	}
	if removed > 0 {
		b.logger.Info("removed orphaned temporary blob files", "dir", b.tmp, "count", removed)
	}
	return nil
}

// validKey reports whether key is 64 lower-case hex digits.
func validKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (b *LocalBlobs) path(key string) string {
	return filepath.Join(b.dir, key[0:2], key[2:4], key)
}

// ctxReader fails a read once ctx is done, so Put stops streaming a
// cancelled request.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put streams r to a locked temporary file, hashing as it goes, fsyncs it
// and renames it to its content address. When the blob already exists the
// temporary file is removed and the stored blob kept.
func (b *LocalBlobs) Put(ctx context.Context, r io.Reader) (info BlobInfo, err error) {
	if err := ctx.Err(); err != nil {
		return BlobInfo{}, err
	}
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: %w", err)
	}
	tmpName := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := lock(f); err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: lock: %w", err)
	}

	h := sha256.New()
	bufp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx, r}, *bufp)
	copyBufs.Put(bufp)
	if err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: sync: %w", err)
	}
	info = BlobInfo{Key: hex.EncodeToString(h.Sum(nil)), Size: n}
	final := b.path(info.Key)

	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Size() == n {
		// Identical content is already stored: keep it.
		return info, nil // the deferred cleanup removes the temporary file
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: %w", err)
	}
	// Rename while the file is still open and locked, so a concurrent sweep
	// never sees it unlocked.
	if err := os.Rename(tmpName, final); err != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: %w", err)
	}
	done = true
	closeErr := f.Close()
	if err := syncDir(filepath.Dir(final)); err != nil {
		b.logger.Warn("fsync of blob directory failed", "dir", filepath.Dir(final), "err", err)
	}
	if closeErr != nil {
		return BlobInfo{}, fmt.Errorf("storage: put: %w", closeErr)
	}
	return info, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// localBlob is an open LocalBlobs blob.
type localBlob struct {
	*os.File
	size int64
}

func (l *localBlob) Size() int64 { return l.size }

// Open opens the blob stored under key.
func (b *LocalBlobs) Open(ctx context.Context, key string) (Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validKey(key) {
		return nil, fmt.Errorf("%w %q", ErrInvalidBlobKey, key)
	}
	f, err := os.Open(b.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrBlobNotFound, key)
		}
		return nil, fmt.Errorf("storage: open blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: open blob: %w", err)
	}
	return &localBlob{File: f, size: st.Size()}, nil
}

// Delete removes the blob stored under key; a missing blob is not an error.
func (b *LocalBlobs) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validKey(key) {
		return fmt.Errorf("%w %q", ErrInvalidBlobKey, key)
	}
	if err := os.Remove(b.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete blob: %w", err)
	}
	return nil
}

// Exists reports whether a blob is stored under key.
func (b *LocalBlobs) Exists(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !validKey(key) {
		return false, fmt.Errorf("%w %q", ErrInvalidBlobKey, key)
	}
	_, err := os.Stat(b.path(key))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("storage: blob exists: %w", err)
	}
}

// Ping checks that the store's directory is writable, for health checks.
func (b *LocalBlobs) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(b.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("storage: blobs not writable: %w", err)
	}
	name := f.Name()
	_, werr := f.WriteString("ok")
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("storage: blobs not writable: %w", err)
	}
	return nil
}

// isTempName reports whether name is one of the store's temporary files.
func isTempName(name string) bool {
	return strings.HasPrefix(name, "put-") || strings.HasPrefix(name, "ping-")
}
