package sources

import (
	"github.com/quarryhq/quarry/internal/ids"
)

// idPrefix starts every source id: "src_" and a lower-case ULID. Source
// ids are monotonic within a process (80 random bits per millisecond, then
// random increments), so id order is creation order and cursor pages stay
// stable; another tenant's id answers 404 whether guessed or not.
const idPrefix = "src_"

func newIDGen() *ids.Generator { return ids.NewMonotonic(idPrefix) }

// validID reports whether id has the shape of a source id.
func validID(id string) bool { return ids.Valid(idPrefix, id) }

// encodeCursor turns the last id of a page into the next page's cursor.
func encodeCursor(lastID string) string { return ids.EncodeCursor(lastID) }

// decodeCursor returns the id a cursor holds, or ErrInvalidCursor.
func decodeCursor(c string) (string, error) {
	id, err := ids.DecodeCursor(idPrefix, c)
	if err != nil {
		return "", ErrInvalidCursor
	}
	return id, nil
}
