package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// testScheduler is a Scheduler that is never run: its handlers are called by hand.
func testScheduler(t *testing.T) *Scheduler {
	t.Helper()
	s, err := New(Options{Config: &rest.Config{Host: "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHandlersRoutePods(t *testing.T) {
	bound := func(p *corev1.Pod) { p.Spec.NodeName = "a" }
	deleting := func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
	finished := func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }
	for _, tc := range []struct {
		name   string
		events func(s *Scheduler)
		queued int // pods in the queue
		cached int // pods in the cache
	}{
		{name: "pending pod queued",
			events: func(s *Scheduler) { s.onPodAdd(pending("p", 0)) }, queued: 1},
		{name: "another scheduler's pod ignored",
			events: func(s *Scheduler) {
				s.onPodAdd(podOf("p", "1", "1Gi", func(p *corev1.Pod) { p.Spec.SchedulerName = "other" }))
			}},
		{name: "terminating pending pod ignored",
			events: func(s *Scheduler) { s.onPodAdd(podOf("p", "1", "1Gi", deleting)) }},
		{name: "bound pod cached",
			events: func(s *Scheduler) { s.onPodAdd(podOf("p", "1", "1Gi", bound)) }, cached: 1},
		{name: "pending then bound: leaves the queue for the cache",
			events: func(s *Scheduler) {
				p := pending("p", 0)
				s.onPodAdd(p)
				b := p.DeepCopy()
				bound(b)
				s.onPodUpdate(p, b)
			},
			cached: 1},
		{name: "pending then being deleted: leaves the queue",
			events: func(s *Scheduler) {
				p := pending("p", 0)
				s.onPodAdd(p)
				d := p.DeepCopy()
				deleting(d)
				s.onPodUpdate(p, d)
			}},
		{name: "pending pod deleted",
			events: func(s *Scheduler) { p := pending("p", 0); s.onPodAdd(p); s.onPodDelete(p) }},
		{name: "bound pod finished: uncounted",
			events: func(s *Scheduler) {
				p := podOf("p", "1", "1Gi", bound)
				s.onPodAdd(p)
				f := p.DeepCopy()
				finished(f)
				s.onPodUpdate(p, f)
			}},
		{name: "bound pod deleted, seen late",
			events: func(s *Scheduler) {
				p := podOf("p", "1", "1Gi", bound)
				s.onPodAdd(p)
				s.onPodDelete(cache.DeletedFinalStateUnknown{Key: "default/p", Obj: p})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testScheduler(t)
			tc.events(s)
			l := s.queue.Lengths()
			if got := l.active + l.backoff + l.unschedulable + l.inFlight; got != tc.queued {
				t.Errorf("queued %d (%+v), want %d", got, l, tc.queued)
			}
			if got := s.cache.Counts().pods; got != tc.cached {
				t.Errorf("cached %d, want %d", got, tc.cached)
			}
		})
	}
}

// TestHandlersMoveUnschedulable: which cluster changes move a parked pod.
func TestHandlersMoveUnschedulable(t *testing.T) {
	base := node("a", "4", "8Gi")
	for _, tc := range []struct {
		name  string
		event func(s *Scheduler)
		moved bool
	}{
		{"node added", func(s *Scheduler) { s.onNodeAdd(node("b", "4", "8Gi")) }, true},
		{"heartbeat only", func(s *Scheduler) {
			n := base.DeepCopy()
			n.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
			s.onNodeUpdate(base, n)
		}, false},
		{"allocatable grew", func(s *Scheduler) { s.onNodeUpdate(base, node("a", "8", "8Gi")) }, true},
		{"label added", func(s *Scheduler) {
			s.onNodeUpdate(base, node("a", "4", "8Gi", func(n *corev1.Node) { n.Labels["disk"] = "ssd" }))
		}, true},
		{"taint removed", func(s *Scheduler) {
			tainted := node("a", "4", "8Gi", func(n *corev1.Node) {
				n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
			})
			s.onNodeUpdate(tainted, base)
		}, true},
		{"uncordoned", func(s *Scheduler) {
			s.onNodeUpdate(node("a", "4", "8Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true }), base)
		}, true},
		{"became ready", func(s *Scheduler) {
			s.onNodeUpdate(node("a", "4", "8Gi", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }), base)
		}, true},
		{"node deleted", func(s *Scheduler) { s.onNodeDelete(base) }, false},
		{"bound pod deleted", func(s *Scheduler) { s.onPodDelete(podOf("x", "1", "1Gi", on("a"))) }, true},
		{"bound pod finished", func(s *Scheduler) {
			p := podOf("x", "1", "1Gi", on("a"))
			f := p.DeepCopy()
			f.Status.Phase = corev1.PodFailed
			s.onPodUpdate(p, f)
		}, true},
		{"pending pod deleted", func(s *Scheduler) { s.onPodDelete(pending("x", 0)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testScheduler(t)
			s.onNodeAdd(base)
			s.onPodAdd(pending("p", 0))
			qp, _, _ := s.queue.Pop()
			qp.lastTry = time.Time{} // its backoff is long over
			s.queue.Unschedulable(qp)
			tc.event(s)
			if got := s.queue.Lengths().unschedulable == 0; got != tc.moved {
				t.Errorf("moved = %v, want %v", got, tc.moved)
			}
		})
	}
}
