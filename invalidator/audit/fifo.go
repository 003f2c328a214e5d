package audit

// fifo is a queue of entries. Entries enter each of the monitor's queues
// with the same delay, so first in is also first due.
type fifo struct {
	items []*entry
	head0 int
}

func (q *fifo) len() int      { return len(q.items) - q.head0 }
func (q *fifo) head() *entry  { return q.items[q.head0] }
func (q *fifo) push(e *entry) { q.items = append(q.items, e) }

func (q *fifo) pop() *entry {
	e := q.items[q.head0]
	q.items[q.head0] = nil
	q.head0++
	// Reuse the array once more than half of it is spent.
	if q.head0 > len(q.items)/2 {
		n := copy(q.items, q.items[q.head0:])
		clear(q.items[n:])
		q.items, q.head0 = q.items[:n], 0
	}
	return e
}
