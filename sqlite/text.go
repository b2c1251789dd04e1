package sqlite

import (
	"strings"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// checkText rejects strings that PostgreSQL's text type cannot hold (NUL
// characters, invalid UTF-8), in both engines alike, so that what one
// stores the other would too.
func checkText(what string, ss ...string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return xiaobao.Errorf(xiaobao.EINVALID, "%s: text must be valid UTF-8 without NUL characters", what)
		}
	}
	return nil
}
