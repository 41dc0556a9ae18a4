package twogen

import "testing"

// An entry read since the last turn survives the next one; an entry not
// read is dropped with its generation, and the map never holds more than
// two generations.
func TestGenerations(t *testing.T) {
	g := New[int, string](2)
	g.Put(1, "a")
	g.Put(2, "b")
	g.Put(3, "c") // turn: {1,2} previous, {3} current
	if v, ok := g.Get(1); !ok || v != "a" {
		t.Fatalf("Get(1) = %q, %v after one turn", v, ok)
	} // 1 moved to current: {3,1}, previous {2}
	g.Put(4, "d") // turn: {3,1} previous, {4} current; {2} dropped
	if _, ok := g.Get(2); ok {
		t.Fatal("an entry not read for two turns is still held")
	}
	for _, k := range []int{1, 3, 4} {
		if _, ok := g.Get(k); !ok {
			t.Fatalf("entry %d dropped", k)
		}
	}
	if n := g.Len(); n > 4 {
		t.Fatalf("Len %d > 2 generations of 2", n)
	}
	g.Put(4, "e")
	if v, _ := g.Get(4); v != "e" {
		t.Fatalf("Get(4) = %q after Put(4, e)", v)
	}
}
