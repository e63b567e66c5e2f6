package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// manage creates or deletes pods so that wantActive run: all go while suspended,
// the excess goes (Indexed: duplicate and out-of-range indexes first), and missing
// ones are created once the failure backoff has passed. A sync either deletes or
// creates, never both.
func (c *jobController) manage(ctx context.Context, s *jobSync) error {
	job := s.job
	if jobSuspended(job) {
		return c.deleteJobPods(ctx, s, s.activePods, true)
	}
	want := s.wantActive()
	rm := jobPodsToRemove(job, s.activePods, int(max(0, s.active-want)))
	if len(rm) > jobMaxPodChangesPerSync {
		rm = rm[:jobMaxPodChangesPerSync]
	}
	if len(rm) > 0 {
		return c.deleteJobPods(ctx, s, rm, true)
	}
	var waiting int32
	if jobOnlyReplacesFailed(job) {
		waiting = s.terminating // their replacements wait until they have failed
	}
	diff := want - waiting - s.active
	if diff <= 0 {
		return nil
	}
	if left := s.backoff.remaining(s.now, c.backoffBase, jobPodFailureBackoffMax); left > 0 {
		c.queue.addAfter(s.key, left)
		return nil
	}
	diff = min(diff, jobMaxPodChangesPerSync)
	var indexes []int
	if jobIndexed(job) {
		indexes = s.pendingIndexes(int(diff))
		diff = int32(len(indexes))
	}
	return c.createJobPods(ctx, s, int(diff), indexes)
}

// createJobPods creates n pods (Indexed: one for each index) in slow-start
// batches, each holding the tracking finalizer.
func (c *jobController) createJobPods(ctx context.Context, s *jobSync, n int, indexes []int) error {
	if n <= 0 {
		return nil
	}
	job := s.job
	c.exp.expect(s.key, n)
	tmpl := job.Spec.Template.DeepCopy()
	if jobIndexed(job) {
		addJobIndexEnv(&tmpl.Spec)
	}
	ref := controllerRef(job, jobKind)
	created, attempted, err := createInBatches(n, func(i int) error {
		pod := podFromTemplate(tmpl, job.Namespace, job.Name+"-", ref)
		if len(indexes) > i {
			setJobPodIndex(pod, job.Name, indexes[i])
		}
		pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
		if _, err := createPod(ctx, c.client, c.rec, job, pod); err != nil {
			c.exp.created(s.key) // it will never be seen
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return err
		}
		return nil
	})
	for range n - attempted {
		c.exp.created(s.key) // skipped after a failed batch
	}
	s.active += int32(created)
	return err
}

// deleteJobPods deletes pods, first removing their tracking finalizer when release
// is set (pods deleted by scale-down or suspend do not count as failed). Pods of a
// failed Job keep it: they are counted as failed, and released, by track.
func (c *jobController) deleteJobPods(ctx context.Context, s *jobSync, pods []*corev1.Pod, release bool) error {
	if len(pods) == 0 {
		return nil
	}
	uids := make([]string, len(pods))
	var released []types.UID
	for i, p := range pods {
		uids[i] = string(p.UID)
		if release && hasJobFinalizer(p) {
			released = append(released, p.UID)
		}
	}
	c.exp.expect(s.key, 0, uids...)
	c.removals.expect(s.key, released...)
	s.removing.Insert(released...)
	var (
		mu   sync.Mutex
		errs []error
	)
	forEachParallel(len(pods), func(i int) {
		p := pods[i]
		err := c.deleteJobPod(ctx, s.job, p, release)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			c.exp.deleted(s.key, string(p.UID))
			if release {
				c.removals.observed(s.key, p.UID)
				s.removing.Delete(p.UID)
			}
			errs = append(errs, err)
			return
		}
		s.active--
		s.terminating++
		if podReady(p) {
			s.ready--
		}
	})
	return errors.Join(errs...)
}

// deleteJobPod deletes one pod of the Job (after releasing its finalizer when
// asked) and records the event; a pod already gone is not an error.
func (c *jobController) deleteJobPod(ctx context.Context, job *batchv1.Job, p *corev1.Pod, release bool) error {
	if release && hasJobFinalizer(p) {
		if err := removeJobFinalizer(ctx, c.client, p); err != nil {
			return err
		}
	}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	switch {
	case apierrors.IsNotFound(err):
		c.exp.deleted(jobKeyOf(job), string(p.UID)) // no event will show it
		return nil
	case err != nil:
		c.rec.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s of job %s: %w", p.Namespace, p.Name, job.Name, err)
	}
	c.rec.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}

// deleteActive deletes the running pods of a failed Job.
func (c *jobController) deleteActive(ctx context.Context, s *jobSync, satisfied bool) error {
	if !satisfied {
		return nil // a pod created earlier may not be in the cache yet: next sync
	}
	return c.deleteJobPods(ctx, s, s.activePods, false)
}

// jobPodsToRemove picks at least n active pods to delete: for an Indexed Job, the
// pods of out-of-range or repeated indexes first; then the pods least far along.
func jobPodsToRemove(j *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, rest []*corev1.Pod
	if jobIndexed(j) {
		rm, rest = jobIndexExcess(active, jobCompletions(j))
	} else {
		rest = active
	}
	if len(rm) >= n {
		return rm
	}
	rest = append([]*corev1.Pod(nil), rest...)
	sort.SliceStable(rest, func(a, b int) bool { return jobDeleteFirst(rest[a], rest[b]) })
	return append(rm, rest[:min(len(rest), n-len(rm))]...)
}

// jobDeleteFirst orders pods for deletion as kube-controller-manager does:
// unscheduled before scheduled, pending before running, not ready before ready,
// newer before older.
func jobDeleteFirst(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	rank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	if ra, rb := rank[a.Status.Phase], rank[b.Status.Phase]; ra != rb {
		return ra < rb
	}
	if podReady(a) != podReady(b) {
		return !podReady(a)
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name < b.Name
}

// jobKeyOf is a Job's queue key.
func jobKeyOf(j *batchv1.Job) string { return j.Namespace + "/" + j.Name }

// createInBatches calls create n times in slow-start batches (1, 2, 4, ...), as
// kube-controller-manager does, so a quota or admission error costs one call, not
// n. It stops after a batch with a failure and returns how many calls succeeded,
// how many were made, and the errors.
func createInBatches(n int, create func(i int) error) (succeeded, attempted int, err error) {
	var (
		mu   sync.Mutex
		errs []error
	)
	for batch := min(n, 1); attempted < n; batch = min(2*batch, n-attempted) {
		start := attempted
		forEachParallel(batch, func(i int) {
			e := create(start + i)
			mu.Lock()
			defer mu.Unlock()
			if e != nil {
				errs = append(errs, e)
			} else {
				succeeded++
			}
		})
		attempted += batch
		if len(errs) > 0 {
			break
		}
	}
	return succeeded, attempted, errors.Join(errs...)
}

// jobCompletions is spec.completions (Indexed Jobs always have it), or 0.
func jobCompletions(j *batchv1.Job) int {
	if j.Spec.Completions == nil {
		return 0
	}
	return int(*j.Spec.Completions)
}

// setJobPodIndex gives a pod of an Indexed Job its index: annotation and label,
// hostname <job>-<index> and name prefix <job>-<index>-.
func setJobPodIndex(p *corev1.Pod, job string, ix int) {
	v := strconv.Itoa(ix)
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Annotations[batchv1.JobCompletionIndexAnnotation] = v
	p.Labels[batchv1.JobCompletionIndexAnnotation] = v
	p.Spec.Hostname = strings.TrimRight(jobTruncate(fmt.Sprintf("%s-%d", job, ix), 63), "-")
	// As kube-controller-manager: the prefix leaves room for the random suffix.
	suffix := fmt.Sprintf("-%d-", ix)
	prefix := jobTruncate(job, 58-len(suffix)) + suffix
	p.GenerateName = prefix
}

// jobTruncate cuts s to at most n bytes.
func jobTruncate(s string, n int) string {
	if len(s) > n {
		return s[:max(n, 0)]
	}
	return s
}
