package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// jobPodFailureBackoffMax caps the Job controller's pod failure backoff
// (kube-controller-manager's 10 minutes); Options.JobPodFailureBackoff is its start.
const jobPodFailureBackoffMax = 10 * time.Minute

const (
	// jobControllerName is the spec.managedBy value of the Jobs this controller
	// syncs (and of those without one).
	jobControllerName = "kubernetes.io/job-controller"
	// jobMaxPodChangesPerSync caps the pods created or deleted in one sync.
	jobMaxPodChangesPerSync = 500
	// jobMaxUncounted caps status.uncountedTerminatedPods, so the status stays small.
	jobMaxUncounted = 500
)

var jobKind = batchv1.SchemeGroupVersion.WithKind("Job")

// jobController runs Jobs as kube-controller-manager's job controller does: it
// creates pods from the template, never more active than parallelism nor than the
// completions still missing; it counts finished pods through the
// batch.kubernetes.io/job-tracking finalizer (a pod keeps it until the Job's status
// has counted it, so a finished pod deleted early is still counted, exactly once);
// it fails the Job past backoffLimit or activeDeadlineSeconds, completes it at
// completions, honours suspend, delays replacements of failed pods with an
// exponential backoff, and deletes finished Jobs ttlSecondsAfterFinished later.
//
// Pods are claimed by their controller reference only: pods matching a Job's
// selector without one are not adopted.
type jobController struct {
	client  kubernetes.Interface
	jobs    batchlisters.JobLister
	pods    corelisters.PodLister
	rec     record.EventRecorder
	log     *slog.Logger
	queue   *workQueue // Job keys
	orphans *workQueue // keys of pods whose tracking finalizer no Job will remove

	exp      *expectations         // pod creations and deletions not yet seen
	removals *jobFinalizerRemovals // finalizer removals not yet seen
	backoff  *jobBackoffStore
	// backoffBase is the wait before a failed pod's replacement, doubled for each
	// further failure since the Job's last success.
	backoffBase time.Duration
	writes      *ownWrites // status writes not yet seen
	now         func() time.Time
}

func newJobController(cc *controllerContext) (controller, error) {
	jobs := cc.informers.Batch().V1().Jobs()
	pods := cc.informers.Core().V1().Pods()
	c := &jobController{
		client:      cc.client,
		jobs:        jobs.Lister(),
		pods:        pods.Lister(),
		rec:         cc.recorder("job-controller"),
		log:         cc.log.With("controller", "job"),
		exp:         newExpectations(),
		removals:    newJobFinalizerRemovals(),
		backoff:     newJobBackoffStore(),
		backoffBase: cc.opts.JobPodFailureBackoff,
		writes:      newOwnWrites(),
		now:         time.Now,
	}
	c.queue = newWorkQueue("job", cc.log, c.sync)
	c.orphans = newWorkQueue("job-orphan-pods", cc.log, c.syncOrphanPod)
	if _, err := jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.queue.add,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.deleteJob,
	}); err != nil {
		return nil, fmt.Errorf("job informer: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	return c, nil
}

func (c *jobController) run(ctx context.Context, workers int) {
	go c.orphans.run(ctx, 1)
	c.queue.run(ctx, workers)
}

// updateJob queues the Job; a finished Job's pods that still hold the tracking
// finalizer are released, and a changed activeDeadlineSeconds is rescheduled.
func (c *jobController) updateJob(old, cur any) {
	oldJob, curJob := old.(*batchv1.Job), cur.(*batchv1.Job)
	c.queue.add(cur)
	if jobFinished(curJob) {
		c.releaseFinalizers(curJob)
	}
	if d := curJob.Spec.ActiveDeadlineSeconds; d != nil && curJob.Status.StartTime != nil &&
		(oldJob.Spec.ActiveDeadlineSeconds == nil || *oldJob.Spec.ActiveDeadlineSeconds != *d) {
		if key, ok := keyOf(cur); ok {
			left := curJob.Status.StartTime.Add(time.Duration(*d) * time.Second).Sub(c.now())
			c.queue.addAfter(key, max(left, 0))
		}
	}
}

// deleteJob queues the Job (so its bookkeeping is dropped) and releases its pods.
func (c *jobController) deleteJob(obj any) {
	c.queue.add(obj)
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if j, ok := obj.(*batchv1.Job); ok {
		c.releaseFinalizers(j)
		if key, ok := keyOf(j); ok {
			c.writes.observedDelete(key, j.Name)
		}
	}
}

// releaseFinalizers queues the pods of a finished or deleted Job that still hold
// the tracking finalizer, for the orphan worker to remove it.
func (c *jobController) releaseFinalizers(j *batchv1.Job) {
	sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil {
		return
	}
	pods, _ := c.pods.Pods(j.Namespace).List(sel)
	for _, p := range pods {
		if ownedBy(p, j.UID) && hasJobFinalizer(p) {
			c.orphans.add(p)
		}
	}
}

// jobOf returns the Job controlling a pod, from the cache, or nil.
func (c *jobController) jobOf(p *corev1.Pod) *batchv1.Job {
	j, _ := resolveControllerRef(p.Namespace, metav1.GetControllerOfNoCopy(p), jobKind,
		func(ns, name string) (*batchv1.Job, error) { return c.jobs.Jobs(ns).Get(name) })
	return j
}

// addPod observes a creation and queues the pod's Job; a pod with the tracking
// finalizer and no live Job goes to the orphan worker.
func (c *jobController) addPod(obj any) {
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp != nil {
		c.deletePod(p)
		return
	}
	j := c.jobOf(p)
	if j == nil || jobFinished(j) {
		if hasJobFinalizer(p) {
			c.orphans.add(p)
		}
		return
	}
	key, _ := keyOf(j)
	c.exp.created(key)
	c.queue.addKey(key)
}

// updatePod queues the pod's Job (and its former one after an ownership change);
// a deletion timestamp counts as the deletion the Job expected.
func (c *jobController) updatePod(old, cur any) {
	oldPod, curPod := old.(*corev1.Pod), cur.(*corev1.Pod)
	if oldPod.ResourceVersion == curPod.ResourceVersion {
		return
	}
	if curPod.DeletionTimestamp != nil {
		c.deletePod(curPod)
	}
	if !reflect.DeepEqual(metav1.GetControllerOfNoCopy(oldPod), metav1.GetControllerOfNoCopy(curPod)) {
		if j := c.jobOf(oldPod); j != nil {
			c.queue.add(j)
		}
	}
	j := c.jobOf(curPod)
	if j == nil || jobFinished(j) {
		if hasJobFinalizer(curPod) {
			c.orphans.add(curPod)
		}
		return
	}
	c.queue.add(j)
}

// deletePod observes a deletion (or a deletion timestamp) and queues the Job.
func (c *jobController) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	j := c.jobOf(p)
	if j == nil {
		return
	}
	key, _ := keyOf(j)
	c.exp.deleted(key, string(p.UID))
	c.queue.addKey(key)
}

// forget drops the bookkeeping of a Job that is gone.
func (c *jobController) forget(key string) {
	c.exp.forget(key)
	c.removals.forget(key)
	c.backoff.forget(key)
	c.writes.forget(key)
}

// sync converges one Job: it counts its finished pods, decides whether the Job
// has failed (backoffLimit, activeDeadlineSeconds) or succeeded (completions),
// creates or deletes pods, and writes the status; see jobSync for the steps.
func (c *jobController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this queue was given
	}
	shared, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if m := shared.Spec.ManagedBy; m != nil && *m != jobControllerName {
		return nil // another controller runs it
	}
	if !c.writes.caughtUp(key, func(string) (metav1.Object, bool) { return shared, true }) {
		c.queue.addAfter(key, time.Second) // the informer has not shown our last status write yet
		return nil
	}
	if jobFinished(shared) {
		c.backoff.forget(key)
		c.releaseFinalizers(shared)
		return c.expireAfterTTL(ctx, key, shared)
	}
	if m := shared.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		c.rec.Event(shared, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	// Expectations are read before the pods are listed, so a pod created after
	// the list is never missed: the next sync waits for it.
	satisfied := c.exp.satisfied(key)
	sel, err := metav1.LabelSelectorAsSelector(shared.Spec.Selector)
	if err != nil {
		return nil // validation rejects such selectors
	}
	all, err := c.pods.Pods(ns).List(sel)
	if err != nil {
		return fmt.Errorf("list pods of job %s: %w", key, err)
	}
	var pods []*corev1.Pod
	for _, p := range all {
		if ownedBy(p, shared.UID) {
			pods = append(pods, p)
		}
	}
	s := newJobSync(key, shared.DeepCopy(), pods, c.removals.pending(key, pods), c.backoff.get(key), c.now())
	return c.reconcile(ctx, s, satisfied)
}

// reconcile runs the steps of a sync: decide the outcome, act on pods, then count
// finished pods and write the status (jobSync.track).
func (c *jobController) reconcile(ctx context.Context, s *jobSync, satisfied bool) error {
	job := s.job
	if job.Status.StartTime == nil && !jobSuspended(job) {
		start := metav1.NewTime(s.now)
		job.Status.StartTime = &start
	}
	s.decideFailure()
	if s.finishing == nil && job.Spec.ActiveDeadlineSeconds != nil && !jobSuspended(job) {
		left := job.Status.StartTime.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second).Sub(s.now)
		c.queue.addAfter(s.key, left)
	}
	var actErr error
	switch {
	case s.failing():
		// The Job has failed: its running pods go (their finalizers are removed
		// when they are counted as failed below).
		actErr = c.deleteActive(ctx, s, satisfied)
	case s.finishing != nil:
		// Success criteria met in an earlier sync: nothing left to run.
	default:
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			actErr = c.manage(ctx, s)
			managed = true
		}
		s.decideSuccess()
		if s.finishing == nil && managed {
			c.setSuspended(s)
		}
	}
	job.Status.Active = s.active
	job.Status.Ready = &s.ready
	job.Status.Terminating = &s.terminating
	trackErr := c.track(ctx, s, satisfied)
	return errors.Join(trackErr, actErr)
}

// setSuspended keeps the Suspended condition in step with spec.suspend and records
// Suspended/Resumed events; resuming restarts the activeDeadlineSeconds clock.
func (c *jobController) setSuspended(s *jobSync) {
	job := s.job
	if jobSuspended(job) {
		if setJobCondition(&job.Status, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", s.now) {
			c.rec.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
		return
	}
	if setJobCondition(&job.Status, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", s.now) {
		c.rec.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
		start := metav1.NewTime(s.now)
		job.Status.StartTime = &start
	}
}

// syncOrphanPod removes the tracking finalizer from a pod whose Job is gone or
// finished: nothing else would, and the pod could never be deleted.
func (c *jobController) syncOrphanPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	p, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s: %w", key, err)
	}
	if !hasJobFinalizer(p) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if ref.Kind != jobKind.Kind || ref.APIVersion != jobKind.GroupVersion().String() {
			return nil // someone else's pod
		}
		if j := c.jobOf(p); j != nil && !jobFinished(j) {
			return nil // its Job counts it
		}
	}
	return removeJobFinalizer(ctx, c.client, p)
}
