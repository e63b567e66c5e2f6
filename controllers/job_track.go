package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
)

// track counts the Job's finished pods exactly once, through their tracking
// finalizer, in three steps as kube-controller-manager does:
//
//  1. pods that finished (or, once the Job is finishing, every pod) are added to
//     status.uncountedTerminatedPods (Indexed: succeeded ones to completedIndexes),
//     with the FailureTarget or SuccessCriteriaMet condition once decided, and the
//     status is written;
//  2. their finalizers are removed;
//  3. the pods released are moved from uncountedTerminatedPods to the succeeded
//     and failed counters and, once every pod is counted and gone, the Job gets its
//     Complete (with completionTime) or Failed condition; the status is written.
//
// A crash between the steps loses nothing: a pod is counted when it is in
// uncountedTerminatedPods and no longer holds the finalizer.
func (c *jobController) track(ctx context.Context, s *jobSync, satisfied bool) error {
	withFinalizer := sets.New[types.UID]()
	for _, p := range s.pods {
		if hasJobFinalizer(p) && !s.removing.Has(p.UID) {
			withFinalizer.Insert(p.UID)
		}
	}
	countReleased(&s.job.Status, withFinalizer)

	job := s.job
	st := &job.Status
	indexed := jobIndexed(job)
	var release []*corev1.Pod
	var newIndexes []int
	full := false
	for _, p := range s.pods {
		if !hasJobFinalizer(p) || s.removing.Has(p.UID) {
			continue
		}
		failed := jobPodFailed(p, job)
		if job.DeletionTimestamp == nil && s.finishing == nil && p.Status.Phase != corev1.PodSucceeded && !failed {
			continue // still running: its finalizer stays
		}
		release = append(release, p)
		ix := jobPodIndex(p)
		validIndex := !indexed || (ix >= 0 && ix < jobCompletions(job))
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(p.UID):
			if indexed {
				if validIndex && !s.prevIndexes.has(ix) {
					newIndexes = append(newIndexes, ix)
				}
			} else if !s.uncountedSucceeded.Has(p.UID) {
				st.UncountedTerminatedPods.Succeeded = append(st.UncountedTerminatedPods.Succeeded, p.UID)
				s.uncountedSucceeded.Insert(p.UID)
			}
		case failed || s.failing():
			// Once the Job fails, every pod not succeeded counts as failed.
			if validIndex && !s.uncountedFailed.Has(p.UID) {
				st.UncountedTerminatedPods.Failed = append(st.UncountedTerminatedPods.Failed, p.UID)
				s.uncountedFailed.Insert(p.UID)
			}
		}
		if len(newIndexes)+s.uncountedSucceeded.Len()+s.uncountedFailed.Len() >= jobMaxUncounted {
			full = true // the rest in a later sync, so the status stays small
			break
		}
	}
	if indexed {
		done := s.prevIndexes.with(newIndexes)
		st.CompletedIndexes = done.String()
		st.Succeeded = int32(done.total())
	}
	s.addInterimCondition()
	if err := c.flush(ctx, s); err != nil {
		return err
	}

	released, rmErr := c.removeFinalizers(ctx, s.key, release)
	for _, uid := range released {
		withFinalizer.Delete(uid)
	}
	countReleased(&s.job.Status, withFinalizer)
	st = &s.job.Status
	finished := false
	if s.finishing != nil && satisfied && !full && rmErr == nil && s.active == 0 && s.terminating == 0 &&
		len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) == 0 {
		f := s.finishing
		setJobCondition(st, f.Type, corev1.ConditionTrue, f.Reason, f.Message, s.now)
		if f.Type == batchv1.JobComplete {
			t := metav1.NewTime(s.now)
			st.CompletionTime = &t
		}
		finished = true
	}
	if err := c.flush(ctx, s); err != nil {
		return errors.Join(err, rmErr)
	}
	if finished {
		c.recordFinished(s)
	}
	return rmErr
}

// recordFinished records the event of a Job's outcome.
func (c *jobController) recordFinished(s *jobSync) {
	job, f := s.job, s.finishing
	if f.Type != batchv1.JobComplete {
		c.rec.Event(job, corev1.EventTypeWarning, f.Reason, f.Message)
		return
	}
	if n := job.Spec.Completions; n != nil && job.Status.Succeeded > *n {
		c.rec.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
	}
	c.rec.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
}

// countReleased moves the uncounted pods that no longer hold the finalizer to the
// succeeded and failed counters.
func countReleased(st *batchv1.JobStatus, withFinalizer sets.Set[types.UID]) {
	u := st.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(uid) {
				out = append(out, uid)
			}
		}
		return out
	}
	succeeded, failed := keep(u.Succeeded), keep(u.Failed)
	st.Succeeded += int32(len(u.Succeeded) - len(succeeded))
	st.Failed += int32(len(u.Failed) - len(failed))
	u.Succeeded, u.Failed = succeeded, failed
}

// flush writes the Job's status if it changed; what the API server returns is
// what the sync goes on from.
func (c *jobController) flush(ctx context.Context, s *jobSync) error {
	if equality.Semantic.DeepEqual(s.job.Status, s.read) {
		return nil
	}
	updated, err := c.client.BatchV1().Jobs(s.job.Namespace).UpdateStatus(ctx, s.job, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of job %s: %w", s.key, err)
	}
	c.writes.wrote(s.key, updated)
	c.backoff.set(s.key, s.backoff)
	s.read = *updated.Status.DeepCopy()
	if updated.Status.UncountedTerminatedPods == nil {
		updated.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	s.job = updated
	return nil
}

// removeFinalizers removes the tracking finalizer from pods, in parallel; it
// returns the pods released (a pod already gone counts as released).
func (c *jobController) removeFinalizers(ctx context.Context, key string, pods []*corev1.Pod) ([]types.UID, error) {
	if len(pods) == 0 {
		return nil, nil
	}
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.removals.expect(key, uids...)
	var (
		mu       sync.Mutex
		released []types.UID
		errs     []error
	)
	forEachParallel(len(pods), func(i int) {
		p := pods[i]
		err := removeJobFinalizer(ctx, c.client, p)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			c.removals.observed(key, p.UID)
			errs = append(errs, err)
			return
		}
		released = append(released, p.UID)
	})
	return released, errors.Join(errs...)
}

// removeJobFinalizer patches the tracking finalizer off a pod (of this UID); a pod
// already gone is not an error.
func removeJobFinalizer(ctx context.Context, client kubernetes.Interface, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":                                 p.UID,
		"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer},
	}})
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// jobFinalizerRemovals remembers, per Job key, the pods whose tracking finalizer
// was removed but whose update the informer has not shown yet: those pods are
// counted already and must not be counted again.
type jobFinalizerRemovals struct {
	mu sync.Mutex // guards m
	m  map[string]sets.Set[types.UID]
}

func newJobFinalizerRemovals() *jobFinalizerRemovals {
	return &jobFinalizerRemovals{m: map[string]sets.Set[types.UID]{}}
}

// expect records removals about to be sent.
func (r *jobFinalizerRemovals) expect(key string, uids ...types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[key] == nil {
		r.m[key] = sets.New[types.UID]()
	}
	r.m[key].Insert(uids...)
}

// observed drops a removal (seen, or failed and so never to be seen).
func (r *jobFinalizerRemovals) observed(key string, uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[key].Delete(uid)
}

// pending returns the removals the cached pods do not show yet, and forgets the
// others (the pod shows no finalizer, or is gone).
func (r *jobFinalizerRemovals) pending(key string, pods []*corev1.Pod) sets.Set[types.UID] {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := sets.New[types.UID]()
	set := r.m[key]
	if set.Len() == 0 {
		return out
	}
	for _, p := range pods {
		if set.Has(p.UID) && hasJobFinalizer(p) {
			out.Insert(p.UID)
		}
	}
	if out.Len() == 0 {
		delete(r.m, key)
	} else {
		r.m[key] = out.Clone()
	}
	return out
}

// forget drops a Job's removals.
func (r *jobFinalizerRemovals) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key)
}

// forEachParallel calls f(0..n-1) from at most 16 goroutines and waits.
func forEachParallel(n int, f func(i int)) {
	const width = 16
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}
