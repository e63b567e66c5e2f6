package controllers

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// expireAfterTTL deletes a finished Job ttlSecondsAfterFinished after it finished,
// with background propagation (the garbage collector deletes its pods), as
// kube-controller-manager's ttl-after-finished controller does; before that time
// it queues the Job again for then.
func (c *jobController) expireAfterTTL(ctx context.Context, key string, job *batchv1.Job) error {
	left, ok := jobTTLLeft(job, c.now())
	if !ok {
		return nil
	}
	if left > 0 {
		c.queue.addAfter(key, left)
		return nil
	}
	// The cache may be behind a change of the TTL: decide on the stored Job.
	fresh, err := c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if fresh.UID != job.UID {
		return nil
	}
	if left, ok := jobTTLLeft(fresh, c.now()); !ok || left > 0 {
		if ok {
			c.queue.addAfter(key, left)
		}
		return nil
	}
	background := metav1.DeletePropagationBackground
	err = c.client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &background,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete expired job %s: %w", key, err)
	}
	c.log.Debug("deleted job after its ttl", "job", key)
	return nil
}

// jobTTLLeft is how long a finished Job with ttlSecondsAfterFinished still has
// before it is deleted; false when it has no TTL, is not finished or is already
// being deleted.
func jobTTLLeft(job *batchv1.Job, now time.Time) (time.Duration, bool) {
	ttl := job.Spec.TTLSecondsAfterFinished
	if ttl == nil || job.DeletionTimestamp != nil {
		return 0, false
	}
	finished, ok := jobFinishTime(job)
	if !ok {
		return 0, false
	}
	return finished.Add(time.Duration(*ttl) * time.Second).Sub(now), true
}
