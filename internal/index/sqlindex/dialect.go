package sqlindex

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Dialect is the SQL flavour of a backend. The engine writes portable SQL
// with "?" placeholders; the dialect covers the few differences.
type Dialect int

// The supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// rebind turns "?" placeholders into "$n" for PostgreSQL. The engine never
// writes a literal "?" in SQL text (values are always parameters).
func (d Dialect) rebind(q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// wildcard returns a case-sensitive pattern predicate on col for a DICOM
// wildcard pattern ("*" any sequence, "?" one character) and its argument.
// SQLite uses GLOB (case-sensitive, unlike its LIKE), PostgreSQL LIKE with
// an explicit escape character.
func (d Dialect) wildcard(col, pattern string) (string, string) {
	var b strings.Builder
	if d == Postgres {
		for _, r := range pattern {
			switch r {
			case '*':
				b.WriteByte('%')
			case '?':
				b.WriteByte('_')
			case '%', '_', '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			default:
				b.WriteRune(r)
			}
		}
		return col + ` LIKE ? ESCAPE '\'`, b.String()
	}
	for _, r := range pattern {
		if r == '[' {
			b.WriteString("[[]")
			continue
		}
		b.WriteRune(r)
	}
	return col + " GLOB ?", b.String()
}

// limit returns the LIMIT/OFFSET clause.
func (d Dialect) limit(limit, offset int) string {
	switch {
	case limit > 0 && offset > 0:
		return " LIMIT " + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(offset)
	case limit > 0:
		return " LIMIT " + strconv.Itoa(limit)
	case offset > 0 && d == Postgres:
		return " OFFSET " + strconv.Itoa(offset)
	case offset > 0:
		return " LIMIT -1 OFFSET " + strconv.Itoa(offset)
	}
	return ""
}

// forUpdate is the row-locking suffix of a SELECT inside a write
// transaction. SQLite has a single writer and needs none.
func (d Dialect) forUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// prefixRange returns the literal prefix of a wildcard pattern and the
// exclusive upper bound of the strings that start with it, so that a
// B-tree index serves the pattern whatever the planner thinks of GLOB or
// LIKE. ok is false when the pattern starts with a wildcard.
func prefixRange(pattern string) (lo, hi string, ok bool) {
	i := strings.IndexAny(pattern, "*?")
	if i < 0 {
		i = len(pattern)
	}
	if i == 0 {
		return "", "", false
	}
	lo = pattern[:i]
	return lo, lo + string(utf8.MaxRune), true
}
