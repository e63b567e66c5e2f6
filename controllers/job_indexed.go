package controllers

import (
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// jobIndexEnv is the variable that gives an Indexed Job's containers their index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// jobIndexes is a set of completion indexes as sorted, disjoint, non-adjacent
// intervals: the form of status.completedIndexes ("1,3-5,7").
type jobIndexes []jobInterval

// jobInterval is the indexes first..last, both included.
type jobInterval struct{ first, last int }

// parseJobIndexes reads "1,3-5,7", keeping the indexes below completions and
// skipping malformed parts.
func parseJobIndexes(s string, completions int) jobIndexes {
	var ivs jobIndexes
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil || first < 0 {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil || last < first {
				continue
			}
		}
		last = min(last, completions-1)
		if first <= last {
			ivs = append(ivs, jobInterval{first, last})
		}
	}
	return ivs.with(nil) // sorted and merged
}

// with returns the union of x and the indexes add.
func (x jobIndexes) with(add []int) jobIndexes {
	all := append(jobIndexes(nil), x...)
	for _, i := range add {
		all = append(all, jobInterval{i, i})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].first < all[b].first })
	var out jobIndexes
	for _, iv := range all {
		if n := len(out); n > 0 && iv.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, iv.last)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// has says whether i is in the set.
func (x jobIndexes) has(i int) bool {
	k := sort.Search(len(x), func(k int) bool { return x[k].last >= i })
	return k < len(x) && x[k].first <= i
}

// total is the number of indexes in the set.
func (x jobIndexes) total() int {
	n := 0
	for _, iv := range x {
		n += iv.last - iv.first + 1
	}
	return n
}

// String writes the set as Kubernetes does: "1,3-5,7", two adjacent indexes as "1,2".
func (x jobIndexes) String() string {
	var b strings.Builder
	for _, iv := range x {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.first))
		switch {
		case iv.last == iv.first+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.last))
		case iv.last > iv.first:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.last))
		}
	}
	return b.String()
}

// pendingIndexes returns up to n of the lowest indexes neither succeeded nor held
// by an active pod.
func (s *jobSync) pendingIndexes(n int) []int {
	done := parseJobIndexes(s.job.Status.CompletedIndexes, jobCompletions(s.job))
	for _, p := range s.newSucceeded {
		if ix := jobPodIndex(p); ix >= 0 {
			done = done.with([]int{ix})
		}
	}
	running := map[int]bool{}
	for _, p := range s.activePods {
		running[jobPodIndex(p)] = true
	}
	var out []int
	for i := 0; i < jobCompletions(s.job) && len(out) < n; i++ {
		if !done.has(i) && !running[i] {
			out = append(out, i)
		}
	}
	return out
}

// jobIndexExcess splits active pods of an Indexed Job into those to delete (no
// valid index, or an index another pod already holds: the one furthest along
// stays) and the rest.
func jobIndexExcess(active []*corev1.Pod, completions int) (rm, rest []*corev1.Pod) {
	sorted := append([]*corev1.Pod(nil), active...)
	// Furthest along first, so it is the one kept for its index.
	sort.SliceStable(sorted, func(a, b int) bool { return jobDeleteFirst(sorted[b], sorted[a]) })
	held := map[int]bool{}
	for _, p := range sorted {
		ix := jobPodIndex(p)
		if ix < 0 || ix >= completions || held[ix] {
			rm = append(rm, p)
			continue
		}
		held[ix] = true
		rest = append(rest, p)
	}
	return rm, rest
}

// jobIndexed says whether the Job's completion mode is Indexed.
func jobIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

// jobPodIndex reads a pod's completion index from its annotation (or label); -1
// when it has none.
func jobPodIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return -1
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return -1
	}
	return ix
}

// addJobIndexEnv gives every container JOB_COMPLETION_INDEX from the pod's
// completion index annotation, unless it sets that variable itself.
func addJobIndexEnv(spec *corev1.PodSpec) {
	ev := corev1.EnvVar{Name: jobIndexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		APIVersion: "v1", FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']",
	}}}
	add := func(cs []corev1.Container) {
		for i := range cs {
			has := false
			for _, e := range cs[i].Env {
				has = has || e.Name == jobIndexEnv
			}
			if !has {
				cs[i].Env = append(cs[i].Env, ev)
			}
		}
	}
	add(spec.InitContainers)
	add(spec.Containers)
}
