package scheduler

import (
	"math"
	"sync"
	"sync/atomic"
)

// minFeasibleNodes is how many feasible nodes the scheduler finds, at least, before
// it stops looking (kube-scheduler's minFeasibleNodesToFind).
const minFeasibleNodes = 100

// feasibleNodesToFind is how many feasible nodes a search looks for in a cluster of
// n nodes before it picks the best: all of them up to 100 nodes, then an adaptive
// share, as kube-scheduler's percentageOfNodesToScore does by default: 50% less 1%
// per 125 nodes, at least 5%, and never fewer than 100 nodes.
func feasibleNodesToFind(n int) int {
	if n < minFeasibleNodes {
		return n
	}
	pct := max(50-n/125, 5)
	return max(n*pct/100, minFeasibleNodes)
}

// searchOptions say how a search runs.
type searchOptions struct {
	start       int // index of the node to examine first; the rest follow round the list
	want        int // feasible nodes to find before stopping
	parallelism int // goroutines examining nodes
}

// searchResult is what a search found.
type searchResult struct {
	best     *NodeInfo // the highest scored feasible node; nil when none fits
	feasible int       // feasible nodes found
	examined int       // nodes examined; the next search starts after them
	// reasons counts, for each reason, the nodes it stopped; set when none fits
	// (then every node was examined).
	reasons map[string]int
}

// searchWorker is one goroutine's share of a search.
type searchWorker struct {
	best      *NodeInfo
	bestScore int64
	bestPos   int // position of best in the search order
	examined  int
	reasons   map[string]int
}

// search filters the nodes in order from o.start (wrapping round), scoring each
// that fits, until o.want feasible nodes are found or every node was examined; it
// returns the best. Nodes are examined in chunks by o.parallelism goroutines; a
// tie goes to the node earliest in the search order.
func search(pi *podInfo, nodes []*NodeInfo, o searchOptions) searchResult {
	n := len(nodes)
	if n == 0 {
		return searchResult{reasons: map[string]int{}}
	}
	want, start := max(o.want, 1), o.start%n
	if start < 0 {
		start = 0
	}
	workers := max(o.parallelism, 1)
	chunk := chunkSize(n, workers)
	workers = min(workers, (n+chunk-1)/chunk)

	var next, feasible atomic.Int64
	examine := func(w *searchWorker) {
		w.bestPos = -1
		for {
			from := int(next.Add(int64(chunk))) - chunk
			if from >= n {
				return
			}
			for pos := from; pos < min(from+chunk, n); pos++ {
				if feasible.Load() >= int64(want) {
					return
				}
				ni := nodes[(start+pos)%n]
				w.examined++
				if why := runFilters(pi, ni); len(why) > 0 {
					if w.reasons == nil {
						w.reasons = map[string]int{}
					}
					for _, r := range why {
						w.reasons[r]++
					}
					continue
				}
				if feasible.Add(1) > int64(want) {
					return // others found enough meanwhile
				}
				if s := score(pi, ni); w.bestPos < 0 || s > w.bestScore {
					w.best, w.bestScore, w.bestPos = ni, s, pos
				}
			}
		}
	}

	ws := make([]searchWorker, workers)
	if workers == 1 {
		examine(&ws[0])
	} else {
		var wg sync.WaitGroup
		for i := 1; i < workers; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); examine(&ws[i]) }()
		}
		examine(&ws[0])
		wg.Wait()
	}

	r := searchResult{feasible: int(min(feasible.Load(), int64(want)))}
	bestPos, bestScore := -1, int64(0)
	for i := range ws {
		w := &ws[i]
		r.examined += w.examined
		if w.bestPos >= 0 && (bestPos < 0 || w.bestScore > bestScore || w.bestScore == bestScore && w.bestPos < bestPos) {
			r.best, bestPos, bestScore = w.best, w.bestPos, w.bestScore
		}
	}
	if r.best == nil {
		r.reasons = map[string]int{}
		for i := range ws {
			for k, v := range ws[i].reasons {
				r.reasons[k] += v
			}
		}
	}
	return r
}

// chunkSize is how many nodes a goroutine takes at a time: about the square root
// of n, and no more than an even share (kube-scheduler's chunkSizeFor).
func chunkSize(n, workers int) int {
	s := int(math.Sqrt(float64(n)))
	if r := n/workers + 1; s > r {
		s = r
	}
	return max(s, 1)
}
