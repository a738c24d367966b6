package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Key set limits.
const (
	// MaxKeys bounds the key allow-list: the current key plus up to three
	// older ones kept to verify tokens issued before a rotation.
	MaxKeys = 4
	// MinSecretBytes is the shortest HMAC secret accepted (RFC 7518 3.2:
	// at least the hash size).
	MinSecretBytes = 32
	// MaxKIDLen is the longest key id accepted, in a key set or a token.
	MaxKIDLen = 64
	// KeyFileName is the generated key file in the data directory.
	KeyFileName = "jwt-keys.json"
)

// KeySet holds the HMAC secrets that sign and verify access tokens. Current
// signs; every key verifies. A token's kid header selects its key from
// Keys and is never used for anything else (no file, URL or database
// lookup).
type KeySet struct {
	Current string
	Keys    map[string][]byte // kid -> HMAC secret (>= 32 bytes)
}

// Validate checks the bounds: 1 to MaxKeys keys, kids of 1 to MaxKIDLen
// characters from [A-Za-z0-9._-], secrets of at least MinSecretBytes, and
// Current present in Keys.
func (k KeySet) Validate() error {
	if len(k.Keys) == 0 {
		return errors.New("auth: KeySet.Keys is empty")
	}
	if len(k.Keys) > MaxKeys {
		return fmt.Errorf("auth: KeySet.Keys has %d keys, at most %d allowed", len(k.Keys), MaxKeys)
	}
	for kid, secret := range k.Keys {
		if !validKID(kid) {
			return fmt.Errorf("auth: KeySet.Keys: bad key id %q: want 1 to %d characters of A-Z a-z 0-9 . _ -", truncate(kid, 80), MaxKIDLen)
		}
		if len(secret) < MinSecretBytes {
			return fmt.Errorf("auth: KeySet.Keys[%q]: the secret has %d bytes, at least %d required", kid, len(secret), MinSecretBytes)
		}
	}
	if _, ok := k.Keys[k.Current]; !ok {
		return fmt.Errorf("auth: KeySet.Current %q is not in KeySet.Keys", truncate(k.Current, 80))
	}
	return nil
}

func validKID(kid string) bool {
	if kid == "" || len(kid) > MaxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// DeriveKID is the key id LoadKeySet gives a secret configured without
// one: "k" and the first 16 hex digits of SHA-256("quarry-jwt-kid:" +
// secret), stable across restarts and revealing nothing usable about a
// secret of 32 bytes or more.
func DeriveKID(secret []byte) string {
	h := sha256.New()
	h.Write([]byte("quarry-jwt-kid:"))
	h.Write(secret)
	return "k" + hex.EncodeToString(h.Sum(nil)[:8])
}

// LoadKeySet returns the signing keys.
//
// envSecret is QUARRY_JWT_SECRET. It is either one secret, whose kid is
// DeriveKID(secret), or a comma-separated list "kid1=secret1,kid2=secret2"
// whose first key signs and the others only verify (a rotation: add the new
// key first, keep the old one until the last token it signed expired,
// then drop it). The value is read as a list when it contains a comma, or
// when the part before its first "=" is a valid kid and the part after it
// is a valid secret; otherwise it is one secret (so base64 padding in a
// single secret is fine). Secrets are used as given, as bytes.
//
// When envSecret is empty, the keys come from dataDir/jwt-keys.json. When
// that file does not exist, 32 random bytes are generated and written to it
// with mode 0600, created atomically (a temporary file linked into place),
// so every restart and every process on the data directory uses the same
// key. A key file readable by group or others is refused.
func LoadKeySet(dataDir, envSecret string) (KeySet, error) {
	if envSecret != "" {
		ks, err := parseSecretEnv(envSecret)
		if err != nil {
			return KeySet{}, err
		}
		return ks, ks.Validate()
	}
	if dataDir == "" {
		return KeySet{}, errors.New("auth: LoadKeySet needs a data directory when QUARRY_JWT_SECRET is empty")
	}
	path := filepath.Join(dataDir, KeyFileName)
	ks, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ks, err
	}
	return createKeyFile(dataDir, path)
}

func parseSecretEnv(v string) (KeySet, error) {
	isList := strings.Contains(v, ",")
	if !isList {
		kid, secret, ok := strings.Cut(v, "=")
		isList = ok && validKID(kid) && len(secret) >= MinSecretBytes
	}
	if !isList {
		return KeySet{Current: DeriveKID([]byte(v)), Keys: map[string][]byte{DeriveKID([]byte(v)): []byte(v)}}, nil
	}
	ks := KeySet{Keys: map[string][]byte{}}
	for i, part := range strings.Split(v, ",") {
		kid, secret, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || kid == "" || secret == "" {
			return KeySet{}, fmt.Errorf("auth: QUARRY_JWT_SECRET: entry %d is not kid=secret", i+1)
		}
		if _, dup := ks.Keys[kid]; dup {
			return KeySet{}, fmt.Errorf("auth: QUARRY_JWT_SECRET: key id %q appears twice", truncate(kid, 80))
		}
		if len(ks.Keys) == MaxKeys {
			return KeySet{}, fmt.Errorf("auth: QUARRY_JWT_SECRET: more than %d keys", MaxKeys)
		}
		if i == 0 {
			ks.Current = kid
		}
		ks.Keys[kid] = []byte(secret)
	}
	return ks, nil
}

// keyFile is the JSON of jwt-keys.json; secrets are base64url.
type keyFile struct {
	Current string            `json:"current"`
	Keys    map[string]string `json:"keys"`
}

const maxKeyFileBytes = 64 << 10

func readKeyFile(path string) (KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return KeySet{}, fmt.Errorf("auth: key file %s has mode %v; it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	if len(b) > maxKeyFileBytes {
		return KeySet{}, fmt.Errorf("auth: key file %s is larger than %d bytes", path, maxKeyFileBytes)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return KeySet{}, fmt.Errorf("auth: key file %s: %w", path, err)
	}
	if len(kf.Keys) > MaxKeys {
		return KeySet{}, fmt.Errorf("auth: key file %s has %d keys, at most %d allowed", path, len(kf.Keys), MaxKeys)
	}
	ks := KeySet{Current: kf.Current, Keys: make(map[string][]byte, len(kf.Keys))}
	for kid, s := range kf.Keys {
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return KeySet{}, fmt.Errorf("auth: key file %s: key %q is not base64url", path, truncate(kid, 80))
		}
		ks.Keys[kid] = secret
	}
	if err := ks.Validate(); err != nil {
		return KeySet{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return ks, nil
}

func createKeyFile(dataDir, path string) (KeySet, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	secret := make([]byte, MinSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	kid := DeriveKID(secret)
	b, err := json.MarshalIndent(keyFile{Current: kid, Keys: map[string]string{kid: base64.RawURLEncoding.EncodeToString(secret)}}, "", "  ")
	if err != nil {
		return KeySet{}, err
	}
	tmp, err := os.CreateTemp(dataDir, ".jwt-keys-*.tmp") // mode 0600
	if err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	// Link, unlike rename, fails when the target exists: a process that
	// lost the race reads the winner's key instead of replacing it.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return KeySet{}, fmt.Errorf("auth: key file: %w", err)
	}
	syncDir(dataDir)
	return KeySet{Current: kid, Keys: map[string][]byte{kid: secret}}, nil
}

// syncDir makes the new directory entry durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
