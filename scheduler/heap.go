package scheduler

import "container/heap"

// podHeap is a priority queue of queued pods with lookup by key. A pod is in at
// most one podHeap at a time, since they share queuedPod.index.
type podHeap struct {
	items []*queuedPod
	byKey map[string]*queuedPod
	less  func(a, b *queuedPod) bool
}

func newPodHeap(less func(a, b *queuedPod) bool) *podHeap {
	return &podHeap{byKey: map[string]*queuedPod{}, less: less}
}

// heap.Interface, for container/heap only.
func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	qp := x.(*queuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	last := len(h.items) - 1
	qp := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	qp.index = -1
	return qp
}

// add inserts a pod; the caller makes sure its key is not there yet.
func (h *podHeap) add(qp *queuedPod) {
	h.byKey[qp.key] = qp
	heap.Push(h, qp)
}

// get returns the pod of a key, or nil.
func (h *podHeap) get(key string) *queuedPod { return h.byKey[key] }

// fix restores the order after qp's ordering fields changed.
func (h *podHeap) fix(qp *queuedPod) { heap.Fix(h, qp.index) }

// remove takes a pod out by key and returns it, or nil when it is not there.
func (h *podHeap) remove(key string) *queuedPod {
	qp := h.byKey[key]
	if qp == nil {
		return nil
	}
	delete(h.byKey, key)
	heap.Remove(h, qp.index)
	return qp
}

// peek returns the first pod without removing it, or nil.
func (h *podHeap) peek() *queuedPod {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// pop removes and returns the first pod, or nil.
func (h *podHeap) pop() *queuedPod {
	if len(h.items) == 0 {
		return nil
	}
	qp := heap.Pop(h).(*queuedPod)
	delete(h.byKey, qp.key)
	return qp
}
