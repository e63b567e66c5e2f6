package scheduler

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/cache"
)

// queuedPod is a pending pod in the queue, with what the queue knows of its attempts.
type queuedPod struct {
	pod *corev1.Pod
	key string // namespace/name
	// attempts counts the times the pod was popped; the backoff doubles with each.
	attempts int
	// enqueued is when the pod last entered the active queue; among pods of equal
	// priority the earliest goes first (seq breaks ties).
	enqueued time.Time
	seq      uint64
	lastTry  time.Time // when it was last popped; its backoff counts from then
	cycle    int64     // the scheduling cycle that popped it last
	parked   time.Time // when it entered the unschedulable pods
	// changed says that the pod's spec, labels or annotations changed while it
	// was in flight, so a failed attempt is not a reason to park it.
	changed bool
	index   int // in the podHeap it is in
}

// queue holds the pods waiting to be scheduled, in three parts as kube-scheduler's:
// active (ready to try, highest priority first, then the longest waiting), backoff
// (tried and failed, waiting for their backoff to end: the initial backoff, doubled
// for each attempt, up to the maximum) and unschedulable (fitting nowhere, waiting
// for a cluster event that could help, or for the periodic flush). A pod that is
// popped is in flight until the scheduler says how its attempt ended; a queued pod
// that is updated is replaced, and a deleted one leaves.
type queue struct {
	initialBackoff, maxBackoff time.Duration
	now                        func() time.Time

	mu   sync.Mutex // guards the fields below
	cond *sync.Cond // signalled when active gains a pod or the queue closes
	// active and backoff are ordered by priority and by backoff expiry.
	active, backoff *podHeap
	unschedulable   map[string]*queuedPod
	inFlight        map[string]*queuedPod
	// cycle counts the pods popped; moveCycle is the cycle at the last move
	// request, so that a pod in flight when the cluster changed is not parked.
	cycle, moveCycle int64
	seq              uint64
	closed           bool
}

// newQueue returns an empty queue; now is the clock.
func newQueue(initialBackoff, maxBackoff time.Duration, now func() time.Time) *queue {
	q := &queue{
		initialBackoff: initialBackoff, maxBackoff: maxBackoff, now: now,
		unschedulable: map[string]*queuedPod{}, inFlight: map[string]*queuedPod{},
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(activeLess)
	q.backoff = newPodHeap(func(a, b *queuedPod) bool {
		ea, eb := q.backoffExpiry(a), q.backoffExpiry(b)
		return ea.Before(eb) || ea.Equal(eb) && a.seq < b.seq
	})
	return q
}

// activeLess orders the active queue: spec.priority descending, then the time the
// pod entered the queue.
func activeLess(a, b *queuedPod) bool {
	pa, pb := priority(a.pod), priority(b.pod)
	if pa != pb {
		return pa > pb
	}
	if !a.enqueued.Equal(b.enqueued) {
		return a.enqueued.Before(b.enqueued)
	}
	return a.seq < b.seq
}

// priority is a pod's spec.priority, 0 when unset.
func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// podKey is a pod's queue key, namespace/name.
func podKey(p *corev1.Pod) string {
	k, _ := cache.MetaNamespaceKeyFunc(p) // fails only for objects without metadata
	return k
}

// backoffDuration is how long a pod waits after its attempts-th attempt failed:
// the initial backoff doubled for each attempt after the first, up to the maximum.
func (q *queue) backoffDuration(attempts int) time.Duration {
	d := q.initialBackoff
	for i := 1; i < attempts; i++ {
		if d >= q.maxBackoff-d {
			return q.maxBackoff
		}
		d += d
	}
	return min(d, q.maxBackoff)
}

// backoffExpiry is when a pod's backoff ends.
func (q *queue) backoffExpiry(qp *queuedPod) time.Time {
	return qp.lastTry.Add(q.backoffDuration(qp.attempts))
}

// Add queues a pending pod, or replaces the queued copy of it. A pod that was
// parked as unschedulable goes back to be tried when its spec, labels or
// annotations changed (an update of its status alone leaves it parked).
func (q *queue) Add(p *corev1.Pod) {
	key := podKey(p)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if qp := q.findLocked(key); qp != nil && qp.pod.UID != p.UID {
		q.deleteLocked(key) // a new pod under the same name starts afresh
	}
	switch {
	case q.active.get(key) != nil:
		qp := q.active.get(key)
		qp.pod = p
		q.active.fix(qp)
	case q.backoff.get(key) != nil:
		q.backoff.get(key).pod = p
	case q.unschedulable[key] != nil:
		qp := q.unschedulable[key]
		changed := podChanged(qp.pod, p)
		qp.pod = p
		if changed {
			delete(q.unschedulable, key)
			q.requeueLocked(qp)
		}
	case q.inFlight[key] != nil:
		qp := q.inFlight[key]
		qp.changed = qp.changed || podChanged(qp.pod, p)
		qp.pod = p
	default:
		q.seq++
		q.active.add(&queuedPod{pod: p, key: key, enqueued: q.now(), seq: q.seq, index: -1})
		q.cond.Signal()
	}
}

// podChanged says whether an update of a pod could change where it fits: anything
// but its status and bookkeeping metadata.
func podChanged(old, cur *corev1.Pod) bool {
	return !equality.Semantic.DeepEqual(old.Spec, cur.Spec) ||
		!equality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!equality.Semantic.DeepEqual(old.Annotations, cur.Annotations)
}

// Delete takes a pod out of the queue (and out of flight): it was deleted, bound
// or handed to another scheduler. A pod of the same name but another UID stays.
func (q *queue) Delete(p *corev1.Pod) {
	key := podKey(p)
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp := q.findLocked(key); qp != nil && (p.UID == "" || qp.pod.UID == p.UID) {
		q.deleteLocked(key)
	}
}

// findLocked returns the queued or in-flight pod of a key, or nil.
func (q *queue) findLocked(key string) *queuedPod {
	if qp := q.active.get(key); qp != nil {
		return qp
	}
	if qp := q.backoff.get(key); qp != nil {
		return qp
	}
	if qp := q.unschedulable[key]; qp != nil {
		return qp
	}
	return q.inFlight[key]
}

func (q *queue) deleteLocked(key string) {
	q.active.remove(key)
	q.backoff.remove(key)
	delete(q.unschedulable, key)
	delete(q.inFlight, key)
}

// Pop waits for a pod in the active queue and returns it, in flight, with its pod
// object (qp.pod is the queue's to change); it returns false once the queue is
// closed.
func (q *queue) Pop() (*queuedPod, *corev1.Pod, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, nil, false
	}
	qp := q.active.pop()
	q.cycle++
	qp.attempts++
	qp.lastTry, qp.cycle, qp.changed = q.now(), q.cycle, false
	q.inFlight[qp.key] = qp
	return qp, qp.pod, true
}

// Done ends a pod's flight: it was bound, or needs no scheduling any more.
func (q *queue) Done(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] == qp {
		delete(q.inFlight, qp.key)
	}
}

// Unschedulable ends the flight of a pod that fits nowhere: it is parked until a
// cluster event or the flush moves it, or goes to backoff at once when the
// cluster or the pod changed while it was in flight. A pod deleted meanwhile is
// dropped.
func (q *queue) Unschedulable(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] != qp || q.closed {
		return
	}
	delete(q.inFlight, qp.key)
	if qp.changed || q.moveCycle >= qp.cycle {
		q.requeueLocked(qp)
		return
	}
	qp.parked = q.now()
	q.unschedulable[qp.key] = qp
}

// Backoff ends the flight of a pod whose attempt failed for another reason (its
// binding failed): it is tried again when its backoff ends.
func (q *queue) Backoff(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] != qp || q.closed {
		return
	}
	delete(q.inFlight, qp.key)
	q.requeueLocked(qp)
}

// requeueLocked puts a pod in backoff, or straight in active when its backoff is
// over.
func (q *queue) requeueLocked(qp *queuedPod) {
	if q.now().Before(q.backoffExpiry(qp)) {
		q.backoff.add(qp)
		return
	}
	q.activateLocked(qp)
}

func (q *queue) activateLocked(qp *queuedPod) {
	q.seq++
	qp.enqueued, qp.seq = q.now(), q.seq
	q.active.add(qp)
	q.cond.Signal()
}

// MoveAll moves every unschedulable pod to backoff or active: the cluster changed
// in a way that could let them fit (a node was added or freed up).
func (q *queue) MoveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle = q.cycle
	for key, qp := range q.unschedulable {
		delete(q.unschedulable, key)
		q.requeueLocked(qp)
	}
}

// FlushBackoff moves the pods whose backoff is over to active.
func (q *queue) FlushBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for qp := q.backoff.peek(); qp != nil && !now.Before(q.backoffExpiry(qp)); qp = q.backoff.peek() {
		q.activateLocked(q.backoff.pop())
	}
}

// FlushUnschedulable moves the pods parked for at least maxParked to backoff or
// active, so that no pod waits for an event forever.
func (q *queue) FlushUnschedulable(maxParked time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for key, qp := range q.unschedulable {
		if now.Sub(qp.parked) >= maxParked {
			delete(q.unschedulable, key)
			q.requeueLocked(qp)
		}
	}
}

// Close wakes Pop, which returns false from then on.
func (q *queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// queueLengths are the sizes of the queue's parts.
type queueLengths struct{ active, backoff, unschedulable, inFlight int }

// Lengths returns the sizes of the queue's parts.
func (q *queue) Lengths() queueLengths {
	q.mu.Lock()
	defer q.mu.Unlock()
	return queueLengths{q.active.Len(), q.backoff.Len(), len(q.unschedulable), len(q.inFlight)}
}
