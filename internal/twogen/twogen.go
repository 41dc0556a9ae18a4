// Package twogen is a map bounded by two generations, for memos whose
// entries are worth keeping while in use and cheap to lose.
package twogen

// Map is bounded by two generations of at most half entries each: an entry
// goes into the current one; when that is full it becomes the previous one
// and the one before is dropped whole, so memory follows what is in use (a
// cleared Go map keeps its buckets at their largest) and an entry read since
// the last turn survives it (a hit in the previous generation moves to the
// current one). Not safe for concurrent use.
type Map[K comparable, V any] struct {
	half      int
	cur, prev map[K]V
}

// New returns an empty Map of generations of at most half entries (at
// least 1).
func New[K comparable, V any](half int) Map[K, V] {
	return Map[K, V]{half: max(half, 1), cur: map[K]V{}}
}

// Get returns the value of k, moving it to the current generation when it
// was in the previous one.
func (g *Map[K, V]) Get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.prev[k]
	if ok {
		delete(g.prev, k)
		g.Put(k, v)
	}
	return v, ok
}

// Put stores v under k in the current generation.
func (g *Map[K, V]) Put(k K, v V) {
	if _, ok := g.cur[k]; !ok && len(g.cur) >= g.half {
		g.prev, g.cur = g.cur, make(map[K]V)
	}
	delete(g.prev, k)
	g.cur[k] = v
}

// Len is the number of entries held, in both generations.
func (g *Map[K, V]) Len() int { return len(g.cur) + len(g.prev) }
