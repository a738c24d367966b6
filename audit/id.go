package audit

import (
	"github.com/quarryhq/quarry/internal/ids"
)

// idPrefix starts every event id: "aud_" and a lower-case ULID. Event ids
// are monotonic within a process, so a trail lists in recording order even
// within one millisecond or when the clock steps back.
const idPrefix = "aud_"

func newIDGen() *ids.Generator { return ids.NewMonotonic(idPrefix) }

// validID reports whether id has the shape of an event id.
func validID(id string) bool { return ids.Valid(idPrefix, id) }

// decodeCursor returns the id a cursor holds, or ErrInvalidCursor.
func decodeCursor(c string) (string, error) {
	id, err := ids.DecodeCursor(idPrefix, c)
	if err != nil {
		return "", ErrInvalidCursor
	}
	return id, nil
}
