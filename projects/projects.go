package projects

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/quarryhq/quarry/internal/ids"
)

// Project is a named group of sources of one tenant.
type Project struct {
	// ID is "prj_" followed by a lower-case ULID: opaque, random, URL-safe.
	ID       string `json:"id"`
	TenantID string `json:"-"`
	// Name is unique in the tenant, whatever its case.
	Name        string `json:"name"`
	Description string `json:"description"`
	// SourceCount is the number of sources in the project.
	SourceCount int       `json:"source_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Limits.
const (
	// MaxNameLen is the longest name, in code points after trimming.
	MaxNameLen = 200
	// MaxDescriptionLen is the longest description, in code points after
	// trimming.
	MaxDescriptionLen = 2000
	// MaxAddSources is the most source ids one AddSources call takes.
	MaxAddSources = 1000
)

// Errors. The server maps each to one error code of the HTTP contract.
var (
	// ErrNotFound: no project has that id in the tenant (another tenant's
	// project answers the same).
	ErrNotFound = errors.New("projects: project not found")
	// ErrConflict: the name is taken in the tenant (compared without
	// regard to case).
	ErrConflict = errors.New("projects: name already in use")
	// ErrSourceNotFound: a source id given to AddSources or RemoveSource
	// names no source of the tenant (or, for RemoveSource, no source of the
	// project). Errors of AddSources are a *SourceNotFoundError naming the
	// ids.
	ErrSourceNotFound = errors.New("projects: source not found")
	// ErrInvalidCursor: a list cursor that this package did not issue.
	ErrInvalidCursor = errors.New("projects: invalid cursor")
	// ErrNoTenant: a call without a tenant id. Every project belongs to a
	// tenant, and the caller names it: this package never guesses.
	ErrNoTenant = errors.New("projects: no tenant given")
)

// ValidationError says which field is wrong. Field uses the JSON names:
// "name", "description", "source_ids".
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return "projects: invalid " + e.Field + ": " + e.Reason
}

// SourceNotFoundError names the source ids of an AddSources call that are
// not sources of the tenant, in the order given. errors.Is(err,
// ErrSourceNotFound) holds for it.
type SourceNotFoundError struct {
	IDs []string
}

// maxListedIDs bounds the ids a SourceNotFoundError message spells out.
const maxListedIDs = 10

func (e *SourceNotFoundError) Error() string {
	listed := e.IDs
	if len(listed) > maxListedIDs {
		listed = listed[:maxListedIDs]
	}
	msg := ErrSourceNotFound.Error() + ": " + strings.Join(listed, ", ")
	if len(e.IDs) > len(listed) {
		msg += fmt.Sprintf(" (%d in all)", len(e.IDs))
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrSourceNotFound) hold.
func (e *SourceNotFoundError) Unwrap() error { return ErrSourceNotFound }

// idPrefix starts every project id; sourcePrefix every source id.
const (
	idPrefix     = "prj_"
	sourcePrefix = "src_"
)

func newIDGen() *ids.Generator { return ids.NewMonotonic(idPrefix) }

// ValidID reports whether id has the shape of a project id. An id that
// does not is never found.
func ValidID(id string) bool { return ids.Valid(idPrefix, id) }

func validSourceID(id string) bool { return ids.Valid(sourcePrefix, id) }

// decodeCursor returns the id a cursor holds, or ErrInvalidCursor.
func decodeCursor(c string) (string, error) {
	id, err := ids.DecodeCursor(idPrefix, c)
	if err != nil {
		return "", ErrInvalidCursor
	}
	return id, nil
}

// cleanName trims name and checks it: 1 to MaxNameLen code points of valid
// UTF-8, without control characters or line and paragraph separators.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "", &ValidationError{Field: "name", Reason: "not valid UTF-8"}
	case n == 0:
		return "", &ValidationError{Field: "name", Reason: "required (not only white space)"}
	case n > MaxNameLen:
		return "", &ValidationError{Field: "name", Reason: fmt.Sprintf("at most %d characters", MaxNameLen)}
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return "", &ValidationError{Field: "name", Reason: "control characters and line breaks are not allowed"}
		}
	}
	return name, nil
}

// cleanDescription trims d and checks it: at most MaxDescriptionLen code
// points of valid UTF-8, without control characters other than tabs and
// line breaks.
func cleanDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	switch {
	case !utf8.ValidString(d):
		return "", &ValidationError{Field: "description", Reason: "not valid UTF-8"}
	case utf8.RuneCountInString(d) > MaxDescriptionLen:
		return "", &ValidationError{Field: "description", Reason: fmt.Sprintf("at most %d characters", MaxDescriptionLen)}
	}
	for _, r := range d {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return "", &ValidationError{Field: "description", Reason: "control characters other than tabs and line breaks are not allowed"}
		}
	}
	return d, nil
}

// nameKey is what makes two names the same name: the NFC form, case-folded
// (Unicode full case folding), so that "Straße", "STRASSE" and "strasse"
// are one name.
func nameKey(name string) string {
	return cases.Fold().String(norm.NFC.String(name))
}
