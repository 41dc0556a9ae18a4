package dynamics

import "strings"

// chunk is a group of query items that share one $filter.
type chunk struct {
	items  []int    // indexes into the caller's items
	values []string // distinct values of those items, in order
}

// chunkValues groups items (each a list of values) so that a filter of In
// over every column, plus fixed text of fixedLen encoded characters, keeps
// the URL (prefixLen long without the filter) under limit and the filter
// under maxFilterValues literal values. An item is never split.
func chunkValues(prefixLen, fixedLen, limit int, columns []string, items [][]string) []chunk {
	fixed := prefixLen + fixedLen + len("&$filter=") + encodedLen("()")
	for _, col := range columns {
		fixed += encodedLen(inFilter(col, []string{"", ""})) + encodedLen(" or ")
	}
	var (
		out  []chunk
		cur  chunk
		seen = map[string]bool{}
		size = fixed
	)
	for i, vals := range items {
		add, n := 0, 0
		for _, v := range vals {
			if !seen[v] {
				add += (encodedLen(literal(v)) + 1) * len(columns)
				n++
			}
		}
		if len(cur.items) > 0 && (size+add > limit || (len(cur.values)+n)*len(columns) > maxFilterValues) {
			out = append(out, cur)
			cur, seen, size = chunk{}, map[string]bool{}, fixed
			add = 0
			for _, v := range vals {
				if !seen[v] {
					add += (encodedLen(literal(v)) + 1) * len(columns)
				}
			}
		}
		cur.items = append(cur.items, i)
		for _, v := range vals {
			if !seen[v] {
				seen[v] = true
				cur.values = append(cur.values, v)
			}
		}
		size += add
	}
	if len(cur.items) > 0 {
		out = append(out, cur)
	}
	return out
}

// inOverColumns is the filter "In(col1, values) or In(col2, values) ...".
func inOverColumns(columns, values []string) string {
	terms := make([]string, len(columns))
	for i, col := range columns {
		terms[i] = inFilter(col, values)
	}
	return orJoin(terms)
}

// suffixTerms is "endswith(col1,'s') or endswith(col2,'s') ..." for one suffix.
func suffixTerms(columns []string, suffix string) []string {
	terms := make([]string, len(columns))
	for i, col := range columns {
		terms[i] = "endswith(" + col + "," + literal(suffix) + ")"
	}
	return terms
}

// chunkSuffixes groups suffixes so that the or-ed endswith terms keep the
// URL under limit and the filter under maxFilterValues values.
func chunkSuffixes(prefixLen, limit int, columns []string, suffixes []string) [][]string {
	fixed := prefixLen + len("&$filter=") + encodedLen("()")
	var (
		out  [][]string
		cur  []string
		size = fixed
	)
	for _, s := range suffixes {
		add := encodedLen(strings.Join(suffixTerms(columns, s), " or ")) + encodedLen(" or ")
		if len(cur) > 0 && (size+add > limit || (len(cur)+1)*len(columns) > maxFilterValues) {
			out = append(out, cur)
			cur, size = nil, fixed
		}
		cur = append(cur, s)
		size += add
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
