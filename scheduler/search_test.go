package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestFeasibleNodesToFind(t *testing.T) {
	for _, tc := range []struct{ nodes, want int }{
		{0, 0}, {1, 1}, {99, 99}, {100, 100}, {200, 100}, {250, 120}, {1000, 420}, {5000, 500}, {6000, 300}, {20000, 1000},
	} {
		if got := feasibleNodesToFind(tc.nodes); got != tc.want {
			t.Errorf("feasibleNodesToFind(%d) = %d, want %d", tc.nodes, got, tc.want)
		}
	}
}

func TestChunkSize(t *testing.T) {
	for _, tc := range []struct{ n, workers, want int }{
		{1, 1, 1}, {1000, 2, 31}, {100, 64, 2}, {10, 1, 3},
	} {
		if got := chunkSize(tc.n, tc.workers); got != tc.want {
			t.Errorf("chunkSize(%d, %d) = %d, want %d", tc.n, tc.workers, got, tc.want)
		}
	}
}

// equalNodes returns n identical empty nodes named n000, n001, ….
func equalNodes(n int, mutate ...func(i int, n *corev1.Node)) []*NodeInfo {
	out := make([]*NodeInfo, n)
	for i := range out {
		nd := node(fmt.Sprintf("n%03d", i), "4", "8Gi")
		for _, m := range mutate {
			m(i, nd)
		}
		out[i] = newNodeInfo(nd)
	}
	return out
}

func TestSearch(t *testing.T) {
	everyOther := func(i int, n *corev1.Node) {
		if i%2 == 1 {
			n.Spec.Unschedulable = true
		}
	}
	for _, tc := range []struct {
		name                  string
		nodes                 []*NodeInfo
		opts                  searchOptions
		best                  string
		feasible, examinedMin int
		examinedMax           int
		reasons               map[string]int
	}{
		{name: "all examined: a tie goes to the first in order",
			nodes: equalNodes(5), opts: searchOptions{want: 5, parallelism: 1},
			best: "n000", feasible: 5, examinedMin: 5, examinedMax: 5},
		{name: "the start index rotates the order",
			nodes: equalNodes(5), opts: searchOptions{start: 3, want: 5, parallelism: 1},
			best: "n003", feasible: 5, examinedMin: 5, examinedMax: 5},
		{name: "stops after want feasible nodes",
			nodes: equalNodes(300), opts: searchOptions{start: 10, want: 100, parallelism: 1},
			best: "n010", feasible: 100, examinedMin: 100, examinedMax: 100},
		{name: "infeasible nodes are examined but do not count",
			nodes: equalNodes(300, everyOther), opts: searchOptions{want: 100, parallelism: 1},
			best: "n000", feasible: 100, examinedMin: 199, examinedMax: 199},
		{name: "parallel: same best, at least want examined",
			nodes: equalNodes(1000), opts: searchOptions{start: 500, want: 420, parallelism: 4},
			best: "n500", feasible: 420, examinedMin: 420, examinedMax: 1000},
		{name: "none fits: every node examined and every reason counted",
			nodes: equalNodes(50, everyOther), opts: searchOptions{want: 50, parallelism: 3},
			feasible: 0, examinedMin: 50, examinedMax: 50,
			reasons: map[string]int{"Insufficient cpu": 25, "node(s) were unschedulable": 25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu := "1"
			if tc.reasons != nil {
				cpu = "8"
			}
			r := search(newPodInfo(podOf("p", cpu, "1Gi")), tc.nodes, tc.opts)
			best := ""
			if r.best != nil {
				best = r.best.Node.Name
			}
			if best != tc.best || r.feasible != tc.feasible || r.examined < tc.examinedMin || r.examined > tc.examinedMax {
				t.Errorf("search = best %q, %d feasible, %d examined; want %q, %d, %d..%d",
					best, r.feasible, r.examined, tc.best, tc.feasible, tc.examinedMin, tc.examinedMax)
			}
			if tc.reasons != nil && fmt.Sprint(r.reasons) != fmt.Sprint(tc.reasons) {
				t.Errorf("reasons = %v, want %v", r.reasons, tc.reasons)
			}
		})
	}
}

// TestSearchPrefersLessLoaded: with the same order, a loaded node loses to an empty one.
func TestSearchPrefersLessLoaded(t *testing.T) {
	nodes := equalNodes(3)
	nodes[0].Add(podOf("x", "2", "1Gi", on("n000")))
	r := search(newPodInfo(podOf("p", "1", "1Gi")), nodes, searchOptions{want: 3, parallelism: 2})
	if r.best == nil || r.best.Node.Name != "n001" {
		t.Errorf("best = %v, want n001", r.best)
	}
}

func BenchmarkSearch1000(b *testing.B) {
	nodes := equalNodes(1000)
	pi := newPodInfo(podOf("p", "100m", "128Mi"))
	b.ReportAllocs()
	start := 0
	for b.Loop() {
		r := search(pi, nodes, searchOptions{start: start, want: feasibleNodesToFind(1000), parallelism: 2})
		start = (start + r.examined) % len(nodes)
	}
}

func BenchmarkSearch1000Serial(b *testing.B) {
	nodes := equalNodes(1000)
	pi := newPodInfo(podOf("p", "100m", "128Mi"))
	start := 0
	for b.Loop() {
		r := search(pi, nodes, searchOptions{start: start, want: feasibleNodesToFind(1000), parallelism: 1})
		start = (start + r.examined) % len(nodes)
	}
}
