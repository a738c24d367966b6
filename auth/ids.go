package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Id prefixes.
const (
	userIDPrefix   = "usr_"
	familyIDPrefix = "fam_"
)

// idGen makes ids: a prefix and a lower-case ULID (time + crypto/rand
// entropy, monotonic within a millisecond), as package sources does.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
}

func newIDGen() *idGen { return &idGen{entropy: ulid.Monotonic(rand.Reader, 0)} }

func (g *idGen) next(prefix string, t time.Time) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, err := ulid.New(ulid.Timestamp(t), g.entropy)
	if err != nil {
		g.entropy = ulid.Monotonic(rand.Reader, 0)
		if id, err = ulid.New(ulid.Timestamp(t), g.entropy); err != nil {
			return "", fmt.Errorf("auth: new id: %w", err)
		}
	}
	return prefix + strings.ToLower(id.String()), nil
}

func validID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != ulid.EncodedSize || rest != strings.ToLower(rest) {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

func validUserID(id string) bool   { return validID(userIDPrefix, id) }
func validFamilyID(id string) bool { return validID(familyIDPrefix, id) }

// validTenantID: 1 to 64 characters of a-z 0-9 _ -, starting with a letter
// or digit.
func validTenantID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || (i > 0 && (c == '_' || c == '-'))) {
			return false
		}
	}
	return true
}
