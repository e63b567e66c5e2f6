package controllers

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// jobSync is what one sync of a Job works out from the cache: its pods, what they
// count for, and the status being computed in job.Status.
type jobSync struct {
	key  string
	job  *batchv1.Job      // a copy; job.Status is the status to write
	read batchv1.JobStatus // the status last read or written, to tell whether it changed
	now  time.Time

	pods       []*corev1.Pod // controlled by the Job
	activePods []*corev1.Pod // neither finished nor being deleted
	// active, ready and terminating count pods, and follow the deletions this sync makes.
	active, ready, terminating int32

	// removing holds the pods whose finalizer removal was sent but not yet seen:
	// they count as released.
	removing                            sets.Set[types.UID]
	uncountedSucceeded, uncountedFailed sets.Set[types.UID]
	newSucceeded, newFailed             []*corev1.Pod // finished and not counted anywhere yet
	succeeded, failed                   int32         // counted, uncounted and new
	prevIndexes                         jobIndexes    // Indexed: status.completedIndexes as read
	backoff                             jobBackoff    // with the new failures counted
	// finishing is the Complete or Failed condition the Job is heading to, once
	// decided; it is set when every pod is counted and gone.
	finishing *batchv1.JobCondition
}

// newJobSync counts a Job's pods: active, ready and terminating ones, and the
// finished ones that the status does not count yet.
func newJobSync(key string, job *batchv1.Job, pods []*corev1.Pod, removing sets.Set[types.UID], b jobBackoff, now time.Time) *jobSync {
	read := *job.Status.DeepCopy()
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	u := job.Status.UncountedTerminatedPods
	s := &jobSync{
		key: key, job: job, read: read, now: now, pods: pods, removing: removing,
		uncountedSucceeded: sets.New(u.Succeeded...),
		uncountedFailed:    sets.New(u.Failed...),
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil && !podTerminal(p) {
			s.terminating++
		}
		if podActive(p) {
			s.activePods = append(s.activePods, p)
			if podReady(p) {
				s.ready++
			}
		}
	}
	s.active = int32(len(s.activePods))
	indexed := jobIndexed(job)
	var newIndexes []int
	if indexed {
		s.prevIndexes = parseJobIndexes(job.Status.CompletedIndexes, jobCompletions(job))
	}
	for _, p := range pods {
		if !hasJobFinalizer(p) || removing.Has(p.UID) {
			continue // counted already, or being released
		}
		ix := jobPodIndex(p)
		if indexed && (ix < 0 || ix >= jobCompletions(job)) {
			continue // a pod of no valid index counts for nothing
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedSucceeded.Has(p.UID):
			s.newSucceeded = append(s.newSucceeded, p)
			if indexed {
				newIndexes = append(newIndexes, ix)
			}
		case jobPodFailed(p, job) && !s.uncountedFailed.Has(p.UID):
			s.newFailed = append(s.newFailed, p)
		}
	}
	if indexed {
		s.succeeded = int32(s.prevIndexes.with(newIndexes).total())
	} else {
		s.succeeded = job.Status.Succeeded + int32(len(s.newSucceeded)+s.uncountedSucceeded.Len())
	}
	s.failed = job.Status.Failed + int32(len(s.newFailed)+s.uncountedFailed.Len())
	s.backoff = b.next(s.newSucceeded, s.newFailed, now)
	return s
}

// decideFailure sets finishing when the Job has failed: past backoffLimit or
// activeDeadlineSeconds, or decided in an earlier sync (FailureTarget). A Job
// whose success was decided earlier (SuccessCriteriaMet) stays on that course.
func (s *jobSync) decideFailure() {
	st := &s.job.Status
	if c := jobCondition(st, batchv1.JobSuccessCriteriaMet); c != nil && c.Status == corev1.ConditionTrue {
		s.finishing = newJobCondition(batchv1.JobComplete, c.Reason, c.Message, s.now)
		return
	}
	if c := jobCondition(st, batchv1.JobFailureTarget); c != nil && c.Status == corev1.ConditionTrue {
		s.finishing = newJobCondition(batchv1.JobFailed, c.Reason, c.Message, s.now)
		return
	}
	switch {
	case s.failed > jobBackoffLimit(s.job) || pastBackoffLimitOnFailure(s.job, s.pods):
		s.finishing = newJobCondition(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", s.now)
	case s.pastDeadline():
		s.finishing = newJobCondition(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline", s.now)
	}
}

// decideSuccess sets finishing when the Job has succeeded: completions reached
// (or, without completions, a pod succeeded) and no pod left running.
func (s *jobSync) decideSuccess() {
	var done bool
	if c := s.job.Spec.Completions; c == nil {
		done = s.succeeded > 0 && s.active == 0
	} else {
		done = s.succeeded >= *c && s.active == 0
	}
	if done {
		s.finishing = newJobCondition(batchv1.JobComplete, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", s.now)
	}
}

// failing says whether the Job is on its way to Failed.
func (s *jobSync) failing() bool {
	return s.finishing != nil && s.finishing.Type == batchv1.JobFailed
}

// pastDeadline says whether a running Job has been active for activeDeadlineSeconds.
func (s *jobSync) pastDeadline() bool {
	d := s.job.Spec.ActiveDeadlineSeconds
	start := s.job.Status.StartTime
	if d == nil || start == nil || jobSuspended(s.job) {
		return false
	}
	return s.now.Sub(start.Time) >= time.Duration(*d)*time.Second
}

// wantActive is how many pods should run: parallelism, but never more than the
// completions still missing; without completions, none more once one succeeded.
func (s *jobSync) wantActive() int32 {
	par := int32(1)
	if p := s.job.Spec.Parallelism; p != nil {
		par = *p
	}
	c := s.job.Spec.Completions
	if c == nil {
		if s.succeeded > 0 {
			return s.active
		}
		return par
	}
	return max(0, min(par, *c-s.succeeded))
}

// addInterimCondition records a decided outcome before the pods' finalizers go:
// FailureTarget on the way to Failed, SuccessCriteriaMet on the way to Complete.
func (s *jobSync) addInterimCondition() {
	if s.finishing == nil {
		return
	}
	typ := batchv1.JobFailureTarget
	if s.finishing.Type == batchv1.JobComplete {
		typ = batchv1.JobSuccessCriteriaMet
	}
	setJobCondition(&s.job.Status, typ, corev1.ConditionTrue, s.finishing.Reason, s.finishing.Message, s.now)
}

// jobPodFailed says whether a pod counts as failed: phase Failed, or (unless only
// failed pods are replaced) deleted before it succeeded, as an evicted pod may
// never reach a phase.
func jobPodFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if jobOnlyReplacesFailed(j) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// jobOnlyReplacesFailed says whether a pod being deleted keeps its replacement
// waiting until it has failed (podReplacementPolicy Failed).
func jobOnlyReplacesFailed(j *batchv1.Job) bool {
	return j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed
}

// pastBackoffLimitOnFailure says whether the container restarts of running pods
// reach backoffLimit, for restartPolicy OnFailure (whose pods do not fail).
func pastBackoffLimitOnFailure(j *batchv1.Job, pods []*corev1.Pod) bool {
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	limit := jobBackoffLimit(j)
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

// jobBackoffLimit is spec.backoffLimit (defaulted to 6 by the API server).
func jobBackoffLimit(j *batchv1.Job) int32 {
	if j.Spec.BackoffLimit == nil {
		return 6
	}
	return *j.Spec.BackoffLimit
}

// jobSuspended says whether spec.suspend is true.
func jobSuspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

// jobFinished says whether the Job has its Complete or Failed condition.
func jobFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobFinishTime is when a finished Job got its Complete or Failed condition.
func jobFinishTime(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// jobCondition returns the status's condition of a type, or nil.
func jobCondition(st *batchv1.JobStatus, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ {
			return &st.Conditions[i]
		}
	}
	return nil
}

// newJobCondition is a True condition that starts now.
func newJobCondition(typ batchv1.JobConditionType, reason, msg string, now time.Time) *batchv1.JobCondition {
	t := metav1.NewTime(now)
	return &batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: t, LastTransitionTime: t}
}

// setJobCondition sets a condition's status, reason and message, adding it unless
// it would be added as False; it reports whether anything changed.
func setJobCondition(st *batchv1.JobStatus, typ batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) bool {
	c := newJobCondition(typ, reason, msg, now)
	c.Status = status
	if cur := jobCondition(st, typ); cur != nil {
		if cur.Status == status && cur.Reason == reason && cur.Message == msg {
			return false
		}
		*cur = *c
		return true
	}
	if status == corev1.ConditionFalse {
		return false
	}
	st.Conditions = append(st.Conditions, *c)
	return true
}

// hasJobFinalizer says whether the pod holds the Job tracking finalizer.
func hasJobFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

// podTerminal says whether the pod has finished (Succeeded or Failed).
func podTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
