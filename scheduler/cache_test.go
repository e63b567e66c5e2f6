package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// boundTo returns a copy of p bound to a node, as the informer reports it.
func boundTo(p *corev1.Pod, node string) *corev1.Pod {
	b := p.DeepCopy()
	b.Spec.NodeName = node
	return b
}

func TestCacheAssume(t *testing.T) {
	oneCPU := Resources{MilliCPU: 1000, Memory: 1 << 30, Pods: 1}
	for _, tc := range []struct {
		name string
		// then acts on a cache where pod p (1 cpu, 1Gi) was just assumed on node a.
		then      func(c *clusterCache, clock *fakeClock, p *corev1.Pod)
		requested Resources // on node a
		counts    cacheCounts
	}{
		{name: "assumed: counted at once",
			then:      func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {},
			requested: oneCPU, counts: cacheCounts{nodes: 1, pods: 1, assumed: 1}},
		{name: "confirmed by the informer: counted once",
			then: func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {
				c.FinishBinding(p.UID)
				c.SetPod(boundTo(p, "a"))
			},
			requested: oneCPU, counts: cacheCounts{nodes: 1, pods: 1}},
		{name: "confirmed before the binding call returned",
			then: func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {
				c.SetPod(boundTo(p, "a"))
				c.FinishBinding(p.UID)
				c.Forget(p.UID) // a late error from a binding that went through after all
				clock.step(time.Hour)
				c.Expire()
			},
			requested: oneCPU, counts: cacheCounts{nodes: 1, pods: 1}},
		{name: "binding failed: forgotten",
			then:   func(c *clusterCache, clock *fakeClock, p *corev1.Pod) { c.Forget(p.UID) },
			counts: cacheCounts{nodes: 1}},
		{name: "bound but never seen: expires after the ttl",
			then: func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {
				c.FinishBinding(p.UID)
				clock.step(30 * time.Second)
				if got := c.Expire(); len(got) != 0 {
					t.Errorf("expired at the deadline: %v", got)
				}
				clock.step(time.Millisecond)
				if got := c.Expire(); len(got) != 1 {
					t.Errorf("expired %d pods after the deadline, want 1", len(got))
				}
			},
			counts: cacheCounts{nodes: 1}},
		{name: "binding still in flight: never expires",
			then:      func(c *clusterCache, clock *fakeClock, p *corev1.Pod) { clock.step(time.Hour); c.Expire() },
			requested: oneCPU, counts: cacheCounts{nodes: 1, pods: 1, assumed: 1}},
		{name: "the informer reports it on another node: moved",
			then: func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {
				c.SetPod(boundTo(p, "elsewhere"))
				if got := c.requested("elsewhere"); got != oneCPU {
					t.Errorf("elsewhere requested %+v", got)
				}
			},
			counts: cacheCounts{nodes: 1, pods: 1}},
		{name: "deleted",
			then:   func(c *clusterCache, clock *fakeClock, p *corev1.Pod) { c.RemovePod(boundTo(p, "a")) },
			counts: cacheCounts{nodes: 1}},
		{name: "finished: takes nothing",
			then: func(c *clusterCache, clock *fakeClock, p *corev1.Pod) {
				b := boundTo(p, "a")
				b.Status.Phase = corev1.PodSucceeded
				c.SetPod(b)
			},
			counts: cacheCounts{nodes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			c := newCache(30*time.Second, clock.now)
			c.SetNode(node("a", "4", "8Gi"))
			p := podOf("p", "1", "1Gi", func(p *corev1.Pod) { p.UID = "uid-p" })
			pl, err := c.PlaceAndAssume(newPodInfo(p), 1)
			if err != nil || pl.node != "a" {
				t.Fatalf("PlaceAndAssume = %+v, %v", pl, err)
			}
			if p.Spec.NodeName != "" {
				t.Fatal("PlaceAndAssume changed the pod")
			}
			tc.then(c, clock, p)
			if got := c.requested("a"); got != tc.requested {
				t.Errorf("requested on a = %+v, want %+v", got, tc.requested)
			}
			if got := c.Counts(); got != tc.counts {
				t.Errorf("counts = %+v, want %+v", got, tc.counts)
			}
		})
	}
}

// TestCacheNextPodSeesAssumed: an assumed pod takes room the next pod cannot have.
func TestCacheNextPodSeesAssumed(t *testing.T) {
	c := newCache(30*time.Second, time.Now)
	c.SetNode(node("a", "2", "8Gi"))
	c.SetNode(node("b", "2", "8Gi"))
	got := map[string]int{}
	for i, name := range []string{"p1", "p2", "p3"} {
		p := podOf(name, "1500m", "1Gi", func(p *corev1.Pod) { p.UID = types.UID(name) })
		pl, err := c.PlaceAndAssume(newPodInfo(p), 1)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 && pl.node == "" {
			t.Fatalf("%s not placed", name)
		}
		got[pl.node]++
	}
	if got["a"] != 1 || got["b"] != 1 || got[""] != 1 {
		t.Errorf("placements %v, want one on a, one on b, one nowhere", got)
	}
	if _, err := c.PlaceAndAssume(newPodInfo(podOf("p1", "1", "1Gi", func(p *corev1.Pod) { p.UID = "p1" })), 1); err == nil {
		t.Error("a pod assumed twice: want an error")
	}
}

func TestCacheNodes(t *testing.T) {
	c := newCache(30*time.Second, time.Now)
	p := boundTo(podOf("p", "1", "1Gi", func(p *corev1.Pod) { p.UID = "uid-p" }), "a")
	c.SetPod(p) // before its node: kept on a placeholder, not searched
	if got := c.Counts(); got != (cacheCounts{pods: 1}) {
		t.Errorf("pod before node: %+v", got)
	}
	c.SetNode(node("a", "4", "8Gi"))
	c.SetNode(node("b", "4", "8Gi"))
	c.SetNode(node("a", "8", "8Gi")) // update keeps the pod
	if got := c.requested("a"); got.MilliCPU != 1000 {
		t.Errorf("after the node update: requested %+v", got)
	}
	c.RemoveNode("a")
	if got := c.Counts(); got != (cacheCounts{nodes: 1, pods: 1}) {
		t.Errorf("after removing a: %+v", got)
	}
	c.RemovePod(p)
	c.RemoveNode("b")
	if got := c.Counts(); got != (cacheCounts{}) || len(c.nodes) != 0 {
		t.Errorf("after removing everything: %+v, %d NodeInfos", got, len(c.nodes))
	}
}
