package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func testQueue(c *fakeClock) *queue       { return newQueue(time.Second, 10*time.Second, c.now) }
func pending(name string, prio int32) *corev1.Pod {
	return podOf(name, "100m", "64Mi", func(p *corev1.Pod) {
		p.UID = types.UID("uid-" + name)
		p.Spec.Priority = &prio
	})
}

// popAll pops every active pod, ending each flight with end, and returns their names.
func popAll(q *queue, end func(*queuedPod)) []string {
	var out []string
	for q.Lengths().active > 0 {
		qp, _, _ := q.Pop()
		out = append(out, qp.pod.Name)
		end(qp)
	}
	return out
}

func TestQueueOrder(t *testing.T) {
	c := newFakeClock()
	q := testQueue(c)
	for _, p := range []struct {
		name string
		prio int32
	}{{"low-1", 0}, {"high-1", 100}, {"low-2", 0}, {"mid", 10}, {"high-2", 100}} {
		q.Add(pending(p.name, p.prio))
		c.step(time.Millisecond)
	}
	got := popAll(q, q.Done)
	want := []string{"high-1", "high-2", "mid", "low-1", "low-2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pop order (-want +got):\n%s", diff)
	}
}

func TestQueueUpdateReorders(t *testing.T) {
	c := newFakeClock()
	q := testQueue(c)
	q.Add(pending("a", 0))
	q.Add(pending("b", 0))
	q.Add(pending("b", 5)) // replaces b, now ahead of a
	if got := popAll(q, q.Done); fmt.Sprint(got) != "[b a]" {
		t.Errorf("pop order %v, want [b a]", got)
	}
}

func TestBackoffDuration(t *testing.T) {
	q := testQueue(newFakeClock())
	var got []time.Duration
	for attempts := 1; attempts <= 6; attempts++ {
		got = append(got, q.backoffDuration(attempts))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestQueueBackoff(t *testing.T) {
	c := newFakeClock()
	q := testQueue(c)
	q.Add(pending("a", 0))
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		qp, _, _ := q.Pop()
		if qp.attempts != attempt+1 {
			t.Fatalf("attempts = %d, want %d", qp.attempts, attempt+1)
		}
		q.Backoff(qp)
		c.step(wait - time.Millisecond)
		q.FlushBackoff()
		if l := q.Lengths(); l.active != 0 || l.backoff != 1 {
			t.Fatalf("attempt %d, just before the backoff ends: %+v, want it in backoff", attempt+1, l)
		}
		c.step(time.Millisecond)
		q.FlushBackoff()
		if l := q.Lengths(); l.active != 1 || l.backoff != 0 {
			t.Fatalf("attempt %d, backoff over: %+v, want it active", attempt+1, l)
		}
	}
}

func TestQueueUnschedulable(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after parks the pod (popped at time 0, attempt 1) and acts.
		after func(c *fakeClock, q *queue, qp *queuedPod)
		want  queueLengths
	}{
		{name: "parked until something happens",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				q.Unschedulable(qp)
				c.step(5 * time.Second)
				q.FlushBackoff()
			},
			want: queueLengths{unschedulable: 1}},
		{name: "a cluster event after the backoff: active",
			after: func(c *fakeClock, q *queue, qp *queuedPod) { q.Unschedulable(qp); c.step(2 * time.Second); q.MoveAll() },
			want:  queueLengths{active: 1}},
		{name: "a cluster event within the backoff: backoff",
			after: func(c *fakeClock, q *queue, qp *queuedPod) { q.Unschedulable(qp); q.MoveAll() },
			want:  queueLengths{backoff: 1}},
		{name: "a cluster event while in flight: not parked",
			after: func(c *fakeClock, q *queue, qp *queuedPod) { q.MoveAll(); q.Unschedulable(qp) },
			want:  queueLengths{backoff: 1}},
		{name: "the pod's spec changed while in flight: not parked",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				p := qp.pod.DeepCopy()
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
				q.Add(p)
				q.Unschedulable(qp)
			},
			want: queueLengths{backoff: 1}},
		{name: "a status update leaves it parked",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				q.Unschedulable(qp)
				p := qp.pod.DeepCopy()
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
				q.Add(p)
			},
			want: queueLengths{unschedulable: 1}},
		{name: "a spec update moves it",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				q.Unschedulable(qp)
				p := qp.pod.DeepCopy()
				p.Spec.Tolerations = []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}
				q.Add(p)
			},
			want: queueLengths{backoff: 1}},
		{name: "flushed after the longest stay",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				q.Unschedulable(qp)
				c.step(29 * time.Second)
				q.FlushUnschedulable(30 * time.Second)
				if l := q.Lengths(); l.unschedulable != 1 {
					t.Errorf("flushed too early: %+v", l)
				}
				c.step(time.Second)
				q.FlushUnschedulable(30 * time.Second)
			},
			want: queueLengths{active: 1}},
		{name: "deleted while in flight: dropped",
			after: func(c *fakeClock, q *queue, qp *queuedPod) { q.Delete(qp.pod); q.Unschedulable(qp) },
			want:  queueLengths{}},
		{name: "deleted while parked",
			after: func(c *fakeClock, q *queue, qp *queuedPod) { q.Unschedulable(qp); q.Delete(qp.pod) },
			want:  queueLengths{}},
		{name: "a new pod of the same name while in flight: queued afresh",
			after: func(c *fakeClock, q *queue, qp *queuedPod) {
				p := pending("a", 0)
				p.UID = "other"
				q.Add(p)
				q.Unschedulable(qp)
			},
			want: queueLengths{active: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock()
			q := testQueue(c)
			q.Add(pending("a", 0))
			qp, _, _ := q.Pop()
			tc.after(c, q, qp)
			if got := q.Lengths(); got != tc.want {
				t.Errorf("lengths %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestQueueDeleteFromEachPart(t *testing.T) {
	c := newFakeClock()
	q := testQueue(c)
	for _, n := range []string{"flying", "backoff", "parked", "active"} {
		q.Add(pending(n, 0))
	}
	for range 3 {
		qp, _, _ := q.Pop()
		switch qp.pod.Name {
		case "backoff":
			q.Backoff(qp)
		case "parked":
			q.Unschedulable(qp)
		}
	}
	if got := q.Lengths(); got != (queueLengths{active: 1, backoff: 1, unschedulable: 1, inFlight: 1}) {
		t.Fatalf("lengths %+v", got)
	}
	for _, n := range []string{"active", "backoff", "parked", "flying"} {
		q.Delete(pending(n, 0))
	}
	if got := q.Lengths(); got != (queueLengths{}) {
		t.Errorf("after deleting all: %+v", got)
	}
}

func TestQueueClose(t *testing.T) {
	q := testQueue(newFakeClock())
	done := make(chan bool)
	go func() { _, _, ok := q.Pop(); done <- ok }()
	q.Close()
	if ok := <-done; ok {
		t.Error("Pop after Close returned a pod")
	}
}
