package enreachtest

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// timeIndex orders the positions of a list of records (calls or service
// calls) by one of their times, so a window filter gathers the records in
// the window rather than testing every record per request: with the whole
// 100,000-call backfill range held, a scan per listing made the double's
// cost grow with the range, and the benchmark counted it against callsync.
// It covers the first n records; records added since are sorted on their
// own and merged in on the next use.
type timeIndex struct {
	n     int
	order []int
}

// within returns, in list order, the positions of the records whose time
// (at) lies in w, after bringing the index up to the list's length.
func (ix *timeIndex) within(length int, at func(int) time.Time, w window) []int {
	byTime := func(a, b int) int {
		if c := at(a).Compare(at(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	if ix.n < length {
		add := make([]int, 0, length-ix.n)
		for i := ix.n; i < length; i++ {
			add = append(add, i)
		}
		slices.SortFunc(add, byTime)
		merged := make([]int, 0, length)
		i, j := 0, 0
		for i < len(ix.order) && j < len(add) {
			if byTime(ix.order[i], add[j]) <= 0 {
				merged = append(merged, ix.order[i])
				i++
			} else {
				merged = append(merged, add[j])
				j++
			}
		}
		merged = append(append(merged, ix.order[i:]...), add[j:]...)
		ix.order, ix.n = merged, length
	}
	lo := sort.Search(len(ix.order), func(k int) bool { return !at(ix.order[k]).Before(w.from) })
	hi := sort.Search(len(ix.order), func(k int) bool { return !at(ix.order[k]).Before(w.to) })
	if hi < lo {
		hi = lo
	}
	out := slices.Clone(ix.order[lo:hi])
	slices.Sort(out)
	return out
}
