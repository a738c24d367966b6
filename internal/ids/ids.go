// Package ids makes Quarry's identifiers and list cursors: a type prefix
// ("src_", "usr_", "aud_"...) and a lower-case ULID, whose timestamp is the
// creation time and whose 80 bits of entropy come from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Generator makes ids with one prefix. It is safe for concurrent use.
type Generator struct {
	prefix  string
	ordered bool
	mu      sync.Mutex
	last    uint64 // ms of the last ordered id
}

// New returns a Generator of random ids: a ULID (48-bit millisecond time,
// 80 random bits) in lower case after prefix. Ids of one millisecond do
// not sort in the order they were made, and none can be derived from
// another (CONTRACT.md: opaque, random identifiers).
func New(prefix string) *Generator { return &Generator{prefix: prefix} }

// NewMonotonic returns a Generator whose ids sort in the order they were
// made within this process, even within one millisecond or when the clock
// steps back, and are as random as New's: an id that would fall in the
// millisecond of the one before (or earlier) takes the next millisecond
// instead of a counter in its random part, so its 80 random bits are
// fresh and no id can be guessed from another (RELIABILITY.md T49). The
// time part may run a few milliseconds ahead of the clock in a burst.
func NewMonotonic(prefix string) *Generator {
	return &Generator{prefix: prefix, ordered: true}
}

// Next returns a new id made at t.
func (g *Generator) Next(t time.Time) (string, error) {
	ms := ulid.Timestamp(t)
	if g.ordered {
		g.mu.Lock()
		if ms <= g.last {
			ms = g.last + 1
		}
		g.last = ms
		g.mu.Unlock()
	}
	id, err := ulid.New(ms, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return g.prefix + strings.ToLower(id.String()), nil
}

// Valid reports whether id has the shape of an id with prefix.
func Valid(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != ulid.EncodedSize || rest != strings.ToLower(rest) {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

var cursorEncoding = base64.RawURLEncoding.Strict()

// ErrInvalidCursor reports a cursor that was not made by EncodeCursor for
// an id of the expected prefix.
var ErrInvalidCursor = errors.New("invalid cursor")

// EncodeCursor turns the last id of a page into the next page's cursor.
func EncodeCursor(lastID string) string { return cursorEncoding.EncodeToString([]byte(lastID)) }

// DecodeCursor returns the id a cursor holds, or ErrInvalidCursor.
func DecodeCursor(prefix, c string) (string, error) {
	if len(c) > 64 {
		return "", ErrInvalidCursor
	}
	b, err := cursorEncoding.DecodeString(c)
	if err != nil || !Valid(prefix, string(b)) {
		return "", ErrInvalidCursor
	}
	return string(b), nil
}

// Page turns the rows of a list query that asked for limit+1 rows (newest
// id first) into a page: at most limit items made by item, and the cursor
// of the next page, "" when there is none. id names a row's id.
func Page[R, T any](rows []R, limit int, item func(*R) (T, error), id func(*R) string) (items []T, next string, err error) {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	items = make([]T, 0, len(rows))
	for i := range rows {
		it, err := item(&rows[i])
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	if more {
		next = EncodeCursor(id(&rows[len(rows)-1]))
	}
	return items, next, nil
}
