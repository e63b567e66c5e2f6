package sync

import (
	"sort"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// maxStatusObjects bounds the objects a status lists, so that the status of a large
// source stays far below the API server's request limit (about 160 bytes each).
const maxStatusObjects = 1000

// capObjects keeps the n objects that most need attention, in their original order,
// and returns how many it left out.
func capObjects(objs []berthv1.ManagedObject, n int) ([]berthv1.ManagedObject, int) {
	if len(objs) <= n {
		return objs, 0
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return attention(objs[idx[a]]) > attention(objs[idx[b]]) })
	keep := idx[:n]
	sort.Ints(keep)
	out := make([]berthv1.ManagedObject, n)
	for i, j := range keep {
		out[i] = objs[j]
	}
	return out, len(objs) - n
}

// attention ranks an object by how much a person reading the status needs it.
func attention(o berthv1.ManagedObject) int {
	switch {
	case o.State == StateFailed:
		return 6
	case o.State == StateOutOfSync:
		return 5
	case len(o.Drift) > 0:
		return 4
	case o.Health == Degraded:
		return 3
	case o.Health == Progressing:
		return 2
	case o.State != StateUnchanged:
		return 1
	}
	return 0
}
