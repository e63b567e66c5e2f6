package controllers

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// jobBackoff is the pod failure backoff state of a Job: how many of its pods
// failed since its last success, and when the last of them finished.
type jobBackoff struct {
	failures    int
	lastFailure time.Time
}

// next is the backoff once newly succeeded and failed pods are counted: a success
// resets the count to the failures that came after it.
func (b jobBackoff) next(succeeded, failed []*corev1.Pod, now time.Time) jobBackoff {
	if len(succeeded) == 0 {
		for _, p := range failed {
			b.failures++
			if t := podFinishTime(p, now); t.After(b.lastFailure) {
				b.lastFailure = t
			}
		}
		return b
	}
	var lastSuccess time.Time
	for _, p := range succeeded {
		if t := podFinishTime(p, now); t.After(lastSuccess) {
			lastSuccess = t
		}
	}
	out := jobBackoff{}
	for _, p := range failed {
		if t := podFinishTime(p, now); t.After(lastSuccess) {
			out.failures++
			if t.After(out.lastFailure) {
				out.lastFailure = t
			}
		}
	}
	return out
}

// remaining is how long a replacement pod still waits: base doubled for each
// failure after the first, capped at maxDelay, counted from the last failure.
func (b jobBackoff) remaining(now time.Time, base, maxDelay time.Duration) time.Duration {
	if b.failures == 0 {
		return 0
	}
	d := base
	for i := 1; i < b.failures && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return max(0, d-now.Sub(b.lastFailure))
}

// podFinishTime is when a pod finished: its containers' latest finish, else when
// it turned not ready, else its deletion, else now.
func podFinishTime(p *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	if c := podCondition(p, corev1.PodReady); c != nil && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return now
}

// jobBackoffStore keeps each Job's backoff between syncs, in memory (as
// kube-controller-manager does: a restart forgets it).
type jobBackoffStore struct {
	mu sync.Mutex // guards m
	m  map[string]jobBackoff
}

func newJobBackoffStore() *jobBackoffStore {
	return &jobBackoffStore{m: map[string]jobBackoff{}}
}

// get returns a Job's backoff.
func (s *jobBackoffStore) get(key string) jobBackoff {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

// set stores a Job's backoff, once the status counting its pods is written.
func (s *jobBackoffStore) set(key string, b jobBackoff) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.failures == 0 {
		delete(s.m, key)
		return
	}
	s.m[key] = b
}

// forget drops a Job's backoff.
func (s *jobBackoffStore) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}
