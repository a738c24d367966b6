package auth

import (
	"github.com/quarryhq/quarry/internal/ids"
)

// Id prefixes.
const (
	userIDPrefix   = "usr_"
	familyIDPrefix = "fam_"
)

func newIDGen() *ids.Generator { return ids.New("") }

func validID(prefix, id string) bool { return ids.Valid(prefix, id) }

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
