package loadgen

import "time"

// slotList is a list of slots in the order of their times (at), linked
// through the slots themselves.
type slotList struct{ head, tail *slot }

// push adds s, due at at, in its place: looked for from the tail, where it
// is found at once when every time added is the latest, as deadlines are.
func (q *slotList) push(s *slot, at time.Duration) {
	s.at, s.list = at, q
	after := q.tail
	for after != nil && after.at > at {
		after = after.prev
	}
	s.prev = after
	if after != nil {
		s.next, after.next = after.next, s
	} else {
		s.next, q.head = q.head, s
	}
	if s.next != nil {
		s.next.prev = s
	} else {
		q.tail = s
	}
}

func (q *slotList) remove(s *slot) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		q.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		q.tail = s.prev
	}
	s.prev, s.next, s.list = nil, nil, nil
}

// slotQueue is a ring of slots, first in first out.
type slotQueue struct {
	ring    []*slot
	head, n int
}

func (q *slotQueue) push(s *slot) {
	q.ring[(q.head+q.n)%len(q.ring)] = s
	q.n++
}

func (q *slotQueue) pop() *slot {
	s := q.ring[q.head]
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return s
}
