package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/test/hollow"
)

// newJob is a Job whose pods end as the hollow annotations say.
func newJob(ns, name string, completions, parallelism int32, annotations map[string]string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: &completions,
			Parallelism: &parallelism,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "work", Image: "busybox"}},
				},
			},
		},
	}
}

// jobCondition returns the True condition of a type, or nil.
func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// waitJob polls the Job until cond holds and returns it.
func (c *cluster) waitJob(t *testing.T, ns, name, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	eventually(t, 60*time.Second, what, func() (bool, string) {
		var err error
		j, err = c.Client.BatchV1().Jobs(ns).Get(testCtx(t), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cond(j), fmt.Sprintf("status %+v", j.Status)
	})
	return j
}

// hasEvent waits for an event about the object with this reason.
func (c *cluster) hasEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	eventually(t, 30*time.Second, "a "+reason+" event on "+name, func() (bool, string) {
		list, err := c.Client.CoreV1().Events(ns).List(testCtx(t), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				return true, ""
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Sprintf("events %v", seen)
	})
}

func TestJobCompletesWithinParallelism(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)

	// Count active pods at every pod event, as a watcher would see them.
	w, err := c.Client.CoreV1().Pods(ns).Watch(testCtx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	maxActive := 0
	go func() {
		pods := map[string]*corev1.Pod{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(pods, p.Name)
			} else {
				pods[p.Name] = p
			}
			active := 0
			for _, p := range pods {
				if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
					active++
				}
			}
			mu.Lock()
			maxActive = max(maxActive, active)
			mu.Unlock()
		}
	}()

	job := newJob(ns, "pi", 3, 2, map[string]string{hollow.AnnotationPhase: "Succeeded", hollow.AnnotationAfter: "300ms"})
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := c.waitJob(t, ns, "pi", "the Job to complete", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobComplete) != nil })
	if j.Status.Succeeded != 3 || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Errorf("status: succeeded %d failed %d active %d, want 3, 0, 0", j.Status.Succeeded, j.Status.Failed, j.Status.Active)
	}
	if j.Status.StartTime == nil || j.Status.CompletionTime == nil {
		t.Errorf("startTime %v completionTime %v, want both", j.Status.StartTime, j.Status.CompletionTime)
	}
	if c := jobCondition(j, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("conditions %+v, want SuccessCriteriaMet (CompletionsReached) before Complete", j.Status.Conditions)
	}
	succeeded := 0
	for _, p := range c.podsOf(t, ns, batchv1.JobNameLabel+"=pi") {
		if p.Status.Phase == corev1.PodSucceeded {
			succeeded++
		}
		for _, f := range p.Finalizers {
			if f == batchv1.JobTrackingFinalizer {
				t.Errorf("pod %s still holds the tracking finalizer after completion", p.Name)
			}
		}
	}
	if succeeded != 3 {
		t.Errorf("%d succeeded pods, want 3", succeeded)
	}
	mu.Lock()
	if maxActive > 2 {
		t.Errorf("%d pods were active at once, parallelism is 2", maxActive)
	}
	mu.Unlock()
	c.hasEvent(t, ns, "pi", "Completed")
	c.hasEvent(t, ns, "pi", "SuccessfulCreate")
}

func TestJobBackoffLimitExceeded(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 1, hollow.Options{})
	ns := c.namespace(t)
	job := newJob(ns, "doomed", 1, 1, map[string]string{hollow.AnnotationPhase: "Failed"})
	job.Spec.BackoffLimit = ptr.To[int32](2)
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := c.waitJob(t, ns, "doomed", "the Job to fail", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobFailed) != nil })
	if cond := jobCondition(j, batchv1.JobFailed); cond.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Errorf("Failed reason %q, want BackoffLimitExceeded", cond.Reason)
	}
	if j.Status.Failed != 3 || j.Status.CompletionTime != nil {
		t.Errorf("status: failed %d completionTime %v, want 3 and none", j.Status.Failed, j.Status.CompletionTime)
	}
	pods := c.podsOf(t, ns, batchv1.JobNameLabel+"=doomed")
	failed := 0
	for _, p := range pods {
		if p.Status.Phase == corev1.PodFailed {
			failed++
		}
	}
	if len(pods) != 3 || failed != 3 {
		t.Errorf("%d pods, %d failed; want exactly backoffLimit+1 = 3 failed pods", len(pods), failed)
	}
	c.hasEvent(t, ns, "doomed", "BackoffLimitExceeded")
}

func TestJobActiveDeadlineExceeded(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 1, hollow.Options{})
	ns := c.namespace(t)
	job := newJob(ns, "slow", 4, 2, nil) // its pods run forever
	job.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := c.waitJob(t, ns, "slow", "the Job to fail", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobFailed) != nil })
	if cond := jobCondition(j, batchv1.JobFailed); cond.Reason != batchv1.JobReasonDeadlineExceeded {
		t.Errorf("Failed reason %q, want DeadlineExceeded", cond.Reason)
	}
	if j.Status.Active != 0 || j.Status.Failed != 2 {
		t.Errorf("status: active %d failed %d, want 0 and the 2 pods stopped", j.Status.Active, j.Status.Failed)
	}
	// The running pods were deleted (the Job is Failed once they are gone).
	if pods := c.podsOf(t, ns, batchv1.JobNameLabel+"=slow"); len(pods) != 0 {
		t.Errorf("%d pods left after the deadline, want none", len(pods))
	}
	c.hasEvent(t, ns, "slow", "DeadlineExceeded")
}

func TestJobTTLAfterFinished(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 1, hollow.Options{})
	ns := c.namespace(t)
	w, err := c.Client.BatchV1().Jobs(ns).Watch(testCtx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	job := newJob(ns, "brief", 1, 1, map[string]string{hollow.AnnotationPhase: "Succeeded"})
	job.Spec.TTLSecondsAfterFinished = ptr.To[int32](1)
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	completed := false
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended")
			}
			j, _ := ev.Object.(*batchv1.Job)
			if j == nil {
				continue
			}
			if ev.Type == watch.Deleted {
				if !completed {
					t.Errorf("the Job was deleted without being Complete first")
				}
				return
			}
			completed = completed || jobCondition(j, batchv1.JobComplete) != nil
		case <-timeout:
			t.Fatalf("timed out waiting for the Job to complete (%v) and then be deleted", completed)
		}
	}
}

func TestJobSuspendAndResume(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 1, hollow.Options{})
	ns := c.namespace(t)
	job := newJob(ns, "later", 2, 2, map[string]string{hollow.AnnotationPhase: "Succeeded", hollow.AnnotationAfter: "300ms"})
	job.Spec.Suspend = ptr.To(true)
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitJob(t, ns, "later", "the Suspended condition", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobSuspended) != nil })
	if pods := c.podsOf(t, ns, batchv1.JobNameLabel+"=later"); len(pods) != 0 {
		t.Errorf("a suspended Job has %d pods", len(pods))
	}
	eventually(t, 30*time.Second, "resume", func() (bool, string) {
		j, err := c.Client.BatchV1().Jobs(ns).Get(testCtx(t), "later", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		j.Spec.Suspend = ptr.To(false)
		_, err = c.Client.BatchV1().Jobs(ns).Update(testCtx(t), j, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	j := c.waitJob(t, ns, "later", "the Job to complete", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobComplete) != nil })
	for _, cond := range j.Status.Conditions {
		if cond.Type == batchv1.JobSuspended && (cond.Status != corev1.ConditionFalse || cond.Reason != "JobResumed") {
			t.Errorf("Suspended condition %+v, want False JobResumed", cond)
		}
	}
	c.hasEvent(t, ns, "later", "Resumed")
}

func TestJobIndexed(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	job := newJob(ns, "idx", 4, 2, map[string]string{hollow.AnnotationPhase: "Succeeded", hollow.AnnotationAfter: "200ms"})
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	if _, err := c.Client.BatchV1().Jobs(ns).Create(testCtx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := c.waitJob(t, ns, "idx", "the Job to complete", func(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobComplete) != nil })
	if j.Status.CompletedIndexes != "0-3" || j.Status.Succeeded != 4 {
		t.Errorf("completedIndexes %q succeeded %d, want \"0-3\" and 4", j.Status.CompletedIndexes, j.Status.Succeeded)
	}
	seen := map[string]bool{}
	for _, p := range c.podsOf(t, ns, batchv1.JobNameLabel+"=idx") {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		if p.Spec.Hostname != "idx-"+ix {
			t.Errorf("pod %s of index %s has hostname %q", p.Name, ix, p.Spec.Hostname)
		}
		seen[ix] = true
	}
	if len(seen) != 4 {
		t.Errorf("pods for indexes %v, want 0..3", seen)
	}
}
