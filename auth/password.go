package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules.
const (
	// MinPasswordLen is the shortest password accepted, in characters
	// (ASVS 6.2.1 asks for at least 12).
	MinPasswordLen = 12
	// MaxPasswordBytes bounds the input to the hash (ASVS allows 64+
	// characters; 1024 bytes leaves room for pass phrases).
	MaxPasswordBytes = 1024
)

// argon2Params are the argon2id parameters of one hash.
type argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// The argon2id parameters of new password hashes: m=64 MiB, t=2, p=2,
// with a 16-byte salt and a 32-byte key. That is the memory of RFC 9106's
// second recommended option and more than OWASP's minimum (46 MiB, t=1).
// Measured on the 2-core CI machine: about 73 ms per hash
// (BenchmarkHashPassword; t=1 took about 41 ms), and 64 MiB while it runs,
// which is why at most GOMAXPROCS hashes run at once. Stored hashes record
// their own parameters, so changing these affects new hashes only, and
// Login re-hashes a password whose stored parameters differ.
const (
	Argon2Memory  = 64 * 1024 // KiB
	Argon2Time    = 2
	Argon2Threads = 2
	argon2SaltLen = 16
	argon2KeyLen  = 32
)

var defaultArgon2 = argon2Params{Memory: Argon2Memory, Time: Argon2Time, Threads: Argon2Threads, SaltLen: argon2SaltLen, KeyLen: argon2KeyLen}

// Bounds on parameters read from a stored hash, so that a tampered row
// cannot make verification allocate gigabytes or spin for minutes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	minArgonSalt    = 8
	maxArgonSalt    = 64
	minArgonKey     = 16
	maxArgonKey     = 64
)

var phcB64 = base64.RawStdEncoding.Strict()

// validatePassword applies the password rules.
func validatePassword(pw string) error {
	switch {
	case len(pw) > MaxPasswordBytes:
		return &ValidationError{Field: "password", Reason: fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)}
	case !utf8.ValidString(pw):
		return &ValidationError{Field: "password", Reason: "must be valid UTF-8"}
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return &ValidationError{Field: "password", Reason: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	}
	return nil
}

// hasher computes argon2id hashes, at most cap(sem) at a time: each one
// takes Memory KiB and a core, so a burst of logins queues instead of
// exhausting memory.
type hasher struct {
	params argon2Params
	sem    chan struct{}
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC string of pw with a fresh salt:
// $argon2id$v=19$m=65536,t=1,p=2$<salt>$<key> (unpadded standard base64).
func (h *hasher) hash(ctx context.Context, pw string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	return encodePHC(p, salt, key), nil
}

func encodePHC(p argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, phcB64.EncodeToString(salt), phcB64.EncodeToString(key))
}

var errBadHash = errors.New("auth: malformed password hash")

// decodePHC parses an argon2id PHC string and checks its parameters
// against the bounds above.
func decodePHC(s string) (p argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint64
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, errBadHash
	}
	for i, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		want := [3]string{"m", "t", "p"}[i]
		if !ok || name != want || val == "" || (len(val) > 1 && val[0] == '0') {
			return p, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch want {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		}
	}
	if t < 1 || t > maxArgonTime || th < 1 || th > maxArgonThreads || m < 8*th || m > maxArgonMemory {
		return p, nil, nil, errBadHash
	}
	if salt, err = phcB64.DecodeString(parts[4]); err != nil || len(salt) < minArgonSalt || len(salt) > maxArgonSalt {
		return p, nil, nil, errBadHash
	}
	if key, err = phcB64.DecodeString(parts[5]); err != nil || len(key) < minArgonKey || len(key) > maxArgonKey {
		return p, nil, nil, errBadHash
	}
	p = argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// verify reports whether pw matches the PHC string encoded, comparing in
// constant time, and whether the hash should be redone with the current
// parameters. A malformed encoded string is an error.
func (h *hasher) verify(ctx context.Context, pw, encoded string) (ok, rehash bool, err error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && p != h.params, nil
}
