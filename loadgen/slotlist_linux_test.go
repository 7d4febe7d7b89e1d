package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A slot list keeps its slots in the order of their times, whatever the
// order they come in and leave, as the loop's backoffs do.
func TestSlotListKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	slots := make([]slot, 50)
	var q slotList
	for round := range 200 {
		for i := range slots {
			s := &slots[i]
			switch {
			case s.list == nil && rng.IntN(2) == 0:
				q.push(s, time.Duration(rng.IntN(100)))
			case s.list != nil && rng.IntN(3) == 0:
				q.remove(s)
			}
		}
		var got []time.Duration
		n := 0
		for s := q.head; s != nil; s = s.next {
			got = append(got, s.at)
			if s.next != nil && s.next.prev != s || s.next == nil && q.tail != s {
				t.Fatalf("round %d: the links are broken at %d", round, n)
			}
			n++
		}
		for i := range slots {
			if slots[i].list != nil {
				n--
			}
		}
		if n != 0 || !slices.IsSorted(got) {
			t.Fatalf("round %d: the list holds %v, %d slots it should not or missing; want them sorted", round, got, n)
		}
	}
}
