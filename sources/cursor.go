package sources

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// idPrefix starts every source id.
const idPrefix = "src_"

// idGen makes source ids: "src_" + a lower-case ULID whose timestamp is the
// creation time and whose entropy comes from crypto/rand. Within one
// millisecond the entropy increases (monotonic by a random step), so ids
// made by one Service sort in creation order.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
}

func newIDGen() *idGen { return &idGen{entropy: ulid.Monotonic(rand.Reader, 0)} }

func (g *idGen) next(t time.Time) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, err := ulid.New(ulid.Timestamp(t), g.entropy)
	if err != nil {
		// Only the monotonic overflow (2^80 ids in one millisecond) or a
		// failing crypto/rand gets here; start afresh once.
		g.entropy = ulid.Monotonic(rand.Reader, 0)
		if id, err = ulid.New(ulid.Timestamp(t), g.entropy); err != nil {
			return "", fmt.Errorf("sources: new id: %w", err)
		}
	}
	return idPrefix + strings.ToLower(id.String()), nil
}

// validID reports whether id has the shape of a source id.
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, idPrefix)
	if !ok || len(rest) != ulid.EncodedSize || rest != strings.ToLower(rest) {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

var cursorEncoding = base64.RawURLEncoding.Strict()

// encodeCursor turns the last id of a page into the next page's cursor.
func encodeCursor(lastID string) string { return cursorEncoding.EncodeToString([]byte(lastID)) }

// decodeCursor returns the id a cursor holds, or ErrInvalidCursor.
func decodeCursor(c string) (string, error) {
	if len(c) > 64 {
		return "", ErrInvalidCursor
	}
	b, err := cursorEncoding.DecodeString(c)
	if err != nil || !validID(string(b)) {
		return "", ErrInvalidCursor
	}
	return string(b), nil
}
