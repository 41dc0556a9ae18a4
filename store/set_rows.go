package store

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callsync/callsync/internal/jsonw"
)

// A set-based statement (UpsertLedgerRows, InsertDecisions) carries at most
// setChunk rows, and a JSON parameter of at most about setChunkBytes: a
// chunk ends at whichever comes first. One bound parameter per statement is
// far from SQLite's limit on their number (SQLITE_MAX_VARIABLE_NUMBER,
// 32,766 by default) and the string far below its limit on a string's
// length (SQLITE_MAX_LENGTH, 1,000,000,000 bytes by default),
// https://www.sqlite.org/limits.html.
const (
	setChunk      = 500
	setChunkBytes = 1 << 20
)

// jsonRows builds the parameter of a set-based statement: a JSON array with
// an array of values per row, appended value by value. The queries read a
// JSON string back as the text it encodes, so only text that a JSON string
// holds exactly is given this way (setText); a row with other text is saved
// by the statement for one row.
type jsonRows struct {
	b []byte
	n int
}

// row starts a row.
func (r *jsonRows) row() {
	if r.n == 0 {
		r.b = append(r.b[:0], '[')
	}
	r.b = append(r.b, '[')
	r.n++
}

// end ends a row (its last value's comma becomes the row's bracket).
func (r *jsonRows) end() {
	r.b[len(r.b)-1] = ']'
	r.b = append(r.b, ',')
}

func (r *jsonRows) str(s string) { r.b = append(jsonw.AppendString(r.b, s), ',') }

func (r *jsonRows) int(v int64) { r.b = append(strconv.AppendInt(r.b, v, 10), ',') }

func (r *jsonRows) null() { r.b = append(r.b, "null,"...) }

// full reports whether the chunk is complete.
func (r *jsonRows) full() bool { return r.n >= setChunk || len(r.b) >= setChunkBytes }

// take returns the rows as the statement's parameter and empties r.
func (r *jsonRows) take() string {
	r.b[len(r.b)-1] = ']' // the last row's comma
	s := string(r.b)
	r.b, r.n = r.b[:0], 0
	return s
}

// setText reports whether s is text that a JSON string gives back exactly:
// valid UTF-8 (jsonw.AppendString writes each invalid byte as U+FFFD) and
// no NUL (SQLite's text functions end a string at a NUL, and PostgreSQL's
// text and jsonb have no NUL). Other text goes to the database as it did
// before the set-based statements: bound as it is, by the statements for
// one row.
func setText(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}
