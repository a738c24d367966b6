package audit

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// idPrefix starts every event id.
const idPrefix = "aud_"

// idGen makes event ids: "aud_" + a lower-case ULID whose timestamp is the
// recording time and whose entropy comes from crypto/rand. Within one
// millisecond the entropy increases (monotonic by a random step), so ids
// made by one Recorder sort in the order they were made.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
	last    uint64 // the last timestamp used, in ms
}

func newIDGen() *idGen { return &idGen{entropy: ulid.Monotonic(rand.Reader, 0)} }

func (g *idGen) next(t time.Time) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A clock that steps back would give a smaller id than the last one;
	// keep the last timestamp instead so that id order stays recording
	// order within this process.
	ms := max(ulid.Timestamp(t), g.last)
	g.last = ms
	id, err := ulid.New(ms, g.entropy)
	if err != nil {
		// Only the monotonic overflow (2^80 ids in one millisecond) or a
		// failing crypto/rand gets here; start afresh once.
		g.entropy = ulid.Monotonic(rand.Reader, 0)
		if id, err = ulid.New(ms, g.entropy); err != nil {
			return "", fmt.Errorf("audit: new id: %w", err)
		}
	}
	return idPrefix + strings.ToLower(id.String()), nil
}

// validID reports whether id has the shape of an event id.
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
