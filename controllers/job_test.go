package controllers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// jobTestNow is the clock of the Job unit tests.
var jobTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// jobTestFixture is a Job controller over hand-fed caches (a test decides what the
// informers have seen) and a fake clientset.
type jobTestFixture struct {
	c      *jobController
	client *fake.Clientset
	rec    *record.FakeRecorder
}

func newJobTestFixture(t *testing.T, objs ...runtime.Object) *jobTestFixture {
	t.Helper()
	f := &jobTestFixture{client: fake.NewClientset(objs...), rec: record.NewFakeRecorder(1000)}
	var generated atomic.Int32
	f.client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		// The fake clientset does not implement generateName.
		p := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			p.Name = fmt.Sprintf("%s%05d", p.GenerateName, generated.Add(1))
			p.UID = types.UID(p.Name + "-uid")
		}
		return false, nil, nil
	})
	var rv atomic.Int64
	rv.Store(100)
	f.client.PrependReactor("update", "jobs", func(a clienttesting.Action) (bool, runtime.Object, error) {
		// The fake clientset keeps resourceVersions; the API server moves them on.
		a.(clienttesting.UpdateAction).GetObject().(*batchv1.Job).ResourceVersion = fmt.Sprint(rv.Add(1))
		return false, nil, nil
	})
	jobs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		switch o := o.(type) {
		case *batchv1.Job:
			_ = jobs.Add(o)
		case *corev1.Pod:
			_ = pods.Add(o)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.c = &jobController{
		client: f.client, jobs: batchlisters.NewJobLister(jobs), pods: corelisters.NewPodLister(pods),
		rec: f.rec, log: log, exp: newExpectations(), removals: newJobFinalizerRemovals(),
		backoff: newJobBackoffStore(), backoffBase: 10 * time.Second, writes: newOwnWrites(), now: func() time.Time { return jobTestNow },
	}
	f.c.queue = newWorkQueue("job-test", log, f.c.sync)
	f.c.orphans = newWorkQueue("job-orphans-test", log, f.c.syncOrphanPod)
	t.Cleanup(func() { f.c.queue.q.ShutDown(); f.c.orphans.q.ShutDown() })
	return f
}

// sync runs one sync of the Job and returns the status it last wrote (nil if none).
func (f *jobTestFixture) sync(t *testing.T, job *batchv1.Job) *batchv1.JobStatus {
	t.Helper()
	if err := f.c.sync(context.Background(), job.Namespace+"/"+job.Name); err != nil {
		t.Fatalf("sync: %v", err)
	}
	var last *batchv1.JobStatus
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() == "status" {
			last = &a.(clienttesting.UpdateAction).GetObject().(*batchv1.Job).Status
		}
	}
	return last
}

// calls lists the client calls as "verb resource[/subresource] name" (creates by
// generateName), in order, leaving out gets and lists.
func (f *jobTestFixture) calls() []string {
	var out []string
	for _, a := range f.client.Actions() {
		res := a.GetResource().Resource
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		switch a.GetVerb() {
		case "create":
			out = append(out, "create "+res+" "+a.(clienttesting.CreateAction).GetObject().(metav1.Object).GetGenerateName())
		case "update":
			out = append(out, "update "+res+" "+a.(clienttesting.UpdateAction).GetObject().(metav1.Object).GetName())
		case "patch":
			out = append(out, "patch "+res+" "+a.(clienttesting.PatchAction).GetName())
		case "delete":
			out = append(out, "delete "+res+" "+a.(clienttesting.DeleteAction).GetName())
		}
	}
	return out
}

// events drains the recorded events.
func (f *jobTestFixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// testJob is a NonIndexed Job as the API server stores it.
func testJob(completions, parallelism *int32, mod ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "ns", UID: "job-uid", ResourceVersion: "10"},
		Spec: batchv1.JobSpec{
			Completions: completions, Parallelism: parallelism, BackoffLimit: ptr.To[int32](6),
			CompletionMode: ptr.To(batchv1.NonIndexedCompletion), Suspend: ptr.To(false),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid", batchv1.JobNameLabel: "pi"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "pi", Image: "perl"}},
				},
			},
		},
	}
	for _, m := range mod {
		m(j)
	}
	return j
}

// testJobPod is a pod of testJob in a phase, holding the tracking finalizer.
func testJobPod(name string, phase corev1.PodPhase, mod ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: types.UID(name + "-uid"),
			Labels:            map[string]string{batchv1.ControllerUidLabel: "job-uid"},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "pi", UID: "job-uid", Controller: ptr.To(true)}},
			Finalizers:        []string{batchv1.JobTrackingFinalizer},
			CreationTimestamp: metav1.NewTime(jobTestNow.Add(-time.Minute)),
		},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: phase},
	}
	if phase == corev1.PodRunning {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if phase == corev1.PodFailed || phase == corev1.PodSucceeded {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pi", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(jobTestNow.Add(-time.Second))},
		}}}
	}
	for _, m := range mod {
		m(p)
	}
	return p
}

func conditionsOf(st *batchv1.JobStatus) []string {
	var out []string
	for _, c := range st.Conditions {
		out = append(out, fmt.Sprintf("%s=%s %s", c.Type, c.Status, c.Reason))
	}
	return out
}

func TestJobSyncCreatesUpToParallelism(t *testing.T) {
	job := testJob(ptr.To[int32](3), ptr.To[int32](2))
	f := newJobTestFixture(t, job)
	st := f.sync(t, job)
	want := []string{"create pods pi-", "create pods pi-", "update jobs/status pi"}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if st.Active != 2 || st.StartTime == nil || *st.Ready != 0 {
		t.Errorf("status: active %d, ready %v, startTime %v; want 2 active, 0 ready, a start time", st.Active, *st.Ready, st.StartTime)
	}
	pods, _ := f.client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	for _, p := range pods.Items {
		if !hasJobFinalizer(&p) || !ownedBy(&p, job.UID) {
			t.Errorf("pod %s: finalizers %v, owners %v; want the tracking finalizer and the Job as controller", p.Name, p.Finalizers, p.OwnerReferences)
		}
	}
	if got := f.events(); len(got) != 2 || !strings.HasPrefix(got[0], "Normal SuccessfulCreate Created pod: pi-") {
		t.Errorf("events = %q, want two SuccessfulCreate", got)
	}
	// The creations are not seen yet: a second sync must not create again.
	f.client.ClearActions()
	f.sync(t, job)
	for _, c := range f.calls() {
		if strings.HasPrefix(c, "create") {
			t.Fatalf("second sync before the creations were seen: %v", f.calls())
		}
	}
}

func TestJobSyncCountsSucceededPodOnce(t *testing.T) {
	job := testJob(ptr.To[int32](3), ptr.To[int32](2), func(j *batchv1.Job) {
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
	})
	done := testJobPod("pi-a", corev1.PodSucceeded)
	running := testJobPod("pi-b", corev1.PodRunning)
	f := newJobTestFixture(t, job, done, running)
	st := f.sync(t, job)
	want := []string{
		"create pods pi-",       // one done, one running: one more to reach parallelism 2 of the 2 missing
		"update jobs/status pi", // pi-a in uncountedTerminatedPods
		"patch pods pi-a",       // its finalizer removed
		"update jobs/status pi", // and counted
	}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if st.Succeeded != 1 || st.Active != 2 || len(st.UncountedTerminatedPods.Succeeded) != 0 {
		t.Errorf("status: succeeded %d active %d uncounted %v; want 1, 2, none", st.Succeeded, st.Active, st.UncountedTerminatedPods)
	}
	p, _ := f.client.CoreV1().Pods("ns").Get(context.Background(), "pi-a", metav1.GetOptions{})
	if hasJobFinalizer(p) {
		t.Errorf("pi-a still holds the tracking finalizer")
	}

	// The cache has not seen the finalizer removal, and the Job cache still shows
	// the first status: the sync waits instead of counting pi-a twice.
	f.client.ClearActions()
	f.sync(t, job)
	if got := f.calls(); len(got) != 0 {
		t.Errorf("sync on a cache behind its own writes made calls %v", got)
	}
}

func TestJobSyncBackoffLimitExceeded(t *testing.T) {
	job := testJob(ptr.To[int32](1), ptr.To[int32](1), func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr.To[int32](2)
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
		j.Status.Failed = 2
	})
	f := newJobTestFixture(t, job, testJobPod("pi-c", corev1.PodFailed))
	st := f.sync(t, job)
	if diff := cmp.Diff([]string{"FailureTarget=True BackoffLimitExceeded", "Failed=True BackoffLimitExceeded"}, conditionsOf(st)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Failed != 3 || st.Active != 0 || st.CompletionTime != nil {
		t.Errorf("status: failed %d active %d completionTime %v; want 3 failed, none active, no completion time", st.Failed, st.Active, st.CompletionTime)
	}
	for _, c := range f.calls() {
		if strings.HasPrefix(c, "create") {
			t.Errorf("created a pod past the backoff limit: %v", f.calls())
		}
	}
	if diff := cmp.Diff([]string{"Warning BackoffLimitExceeded Job has reached the specified backoff limit"}, f.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestJobSyncBackoffDelaysReplacement(t *testing.T) {
	job := testJob(ptr.To[int32](1), ptr.To[int32](1), func(j *batchv1.Job) {
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
	})
	f := newJobTestFixture(t, job, testJobPod("pi-a", corev1.PodFailed))
	st := f.sync(t, job)
	if st.Failed != 1 {
		t.Errorf("failed = %d, want 1", st.Failed)
	}
	for _, c := range f.calls() {
		if strings.HasPrefix(c, "create") {
			t.Errorf("replaced a failed pod before its backoff (10s, failed 1s ago): %v", f.calls())
		}
	}
	if b := f.c.backoff.get("ns/pi"); b.failures != 1 {
		t.Errorf("backoff failures = %d, want 1", b.failures)
	}
}

func TestJobSyncDeadlineExceeded(t *testing.T) {
	job := testJob(ptr.To[int32](1), ptr.To[int32](1), func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-10 * time.Second)}
		j.Status.Active = 1
	})
	f := newJobTestFixture(t, job, testJobPod("pi-a", corev1.PodRunning))
	st := f.sync(t, job)
	want := []string{"delete pods pi-a", "update jobs/status pi", "patch pods pi-a", "update jobs/status pi"}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// The pod is still terminating: Failed comes once it is gone.
	if diff := cmp.Diff([]string{"FailureTarget=True DeadlineExceeded"}, conditionsOf(st)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Failed != 1 || st.Active != 0 || *st.Terminating != 1 {
		t.Errorf("status: failed %d active %d terminating %d; want 1, 0, 1", st.Failed, st.Active, *st.Terminating)
	}
}

func TestJobSyncSuspendDeletesPodsWithoutCountingThem(t *testing.T) {
	job := testJob(ptr.To[int32](2), ptr.To[int32](2), func(j *batchv1.Job) {
		j.Spec.Suspend = ptr.To(true)
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
	})
	f := newJobTestFixture(t, job, testJobPod("pi-a", corev1.PodRunning))
	st := f.sync(t, job)
	want := []string{"patch pods pi-a", "delete pods pi-a", "update jobs/status pi"}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Suspended=True JobSuspended"}, conditionsOf(st)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Failed != 0 || st.Active != 0 {
		t.Errorf("status: failed %d active %d; want 0, 0", st.Failed, st.Active)
	}
}

func TestJobSyncCompletes(t *testing.T) {
	job := testJob(ptr.To[int32](2), ptr.To[int32](2), func(j *batchv1.Job) {
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
		j.Status.Succeeded = 1
		j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	})
	f := newJobTestFixture(t, job, testJobPod("pi-b", corev1.PodSucceeded))
	st := f.sync(t, job)
	want := []string{"SuccessCriteriaMet=True CompletionsReached", "Complete=True CompletionsReached"}
	if diff := cmp.Diff(want, conditionsOf(st)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Succeeded != 2 || st.CompletionTime == nil {
		t.Errorf("status: succeeded %d completionTime %v; want 2 and a completion time", st.Succeeded, st.CompletionTime)
	}
	if diff := cmp.Diff([]string{"Normal Completed Job completed"}, f.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestJobSyncIndexed(t *testing.T) {
	job := testJob(ptr.To[int32](4), ptr.To[int32](2), func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Status.StartTime = &metav1.Time{Time: jobTestNow.Add(-time.Minute)}
		j.Status.CompletedIndexes = "1"
		j.Status.Succeeded = 1
	})
	withIndex := func(ix string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: ix} }
	}
	f := newJobTestFixture(t, job,
		testJobPod("pi-0-a", corev1.PodSucceeded, withIndex("0")),
		testJobPod("pi-2-a", corev1.PodRunning, withIndex("2")),
		testJobPod("pi-2-b", corev1.PodPending, withIndex("2")), // a duplicate of index 2
	)
	st := f.sync(t, job)
	if st.CompletedIndexes != "0,1" || st.Succeeded != 2 {
		t.Errorf("completedIndexes %q succeeded %d, want \"0,1\" and 2", st.CompletedIndexes, st.Succeeded)
	}
	want := []string{"patch pods pi-2-b", "delete pods pi-2-b", "update jobs/status pi", "patch pods pi-0-a"}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	// With the duplicate gone, the next missing index (3) gets its pod.
	f2 := newJobTestFixture(t, job, testJobPod("pi-2-a", corev1.PodRunning, withIndex("2")))
	f2.sync(t, job)
	pods, _ := f2.client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	var created *corev1.Pod
	for i := range pods.Items {
		if pods.Items[i].Name != "pi-2-a" {
			created = &pods.Items[i]
		}
	}
	if created == nil {
		t.Fatalf("no pod created; calls %v", f2.calls())
	}
	if created.GenerateName != "pi-0-" || created.Annotations[batchv1.JobCompletionIndexAnnotation] != "0" ||
		created.Labels[batchv1.JobCompletionIndexAnnotation] != "0" || created.Spec.Hostname != "pi-0" {
		t.Errorf("created pod %s: generateName %q, index annotation %q label %q, hostname %q; want index 0",
			created.Name, created.GenerateName, created.Annotations[batchv1.JobCompletionIndexAnnotation],
			created.Labels[batchv1.JobCompletionIndexAnnotation], created.Spec.Hostname)
	}
	env := created.Spec.Containers[0].Env
	if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env = %+v, want JOB_COMPLETION_INDEX from the annotation", env)
	}
}

func TestJobSyncTTLDeletesFinishedJob(t *testing.T) {
	finished := func(ago time.Duration) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Spec.TTLSecondsAfterFinished = ptr.To[int32](5)
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.NewTime(jobTestNow.Add(-ago))}}
		}
	}
	young := testJob(ptr.To[int32](1), ptr.To[int32](1), finished(2*time.Second))
	f := newJobTestFixture(t, young)
	f.sync(t, young)
	if got := f.calls(); len(got) != 0 {
		t.Errorf("a Job finished 2s ago with a 5s TTL: calls %v, want none", got)
	}
	old := testJob(ptr.To[int32](1), ptr.To[int32](1), finished(6*time.Second))
	f = newJobTestFixture(t, old)
	f.sync(t, old)
	if diff := cmp.Diff([]string{"delete jobs pi"}, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	for _, a := range f.client.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok {
			if pp := d.GetDeleteOptions().PropagationPolicy; pp == nil || *pp != metav1.DeletePropagationBackground {
				t.Errorf("propagation = %v, want Background", pp)
			}
		}
	}
}

func TestJobOrphanPodReleased(t *testing.T) {
	// The Job is gone (not in the cache): its pod's finalizer must go.
	pod := testJobPod("pi-a", corev1.PodSucceeded)
	f := newJobTestFixture(t, pod)
	if err := f.c.syncOrphanPod(context.Background(), "ns/pi-a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"patch pods pi-a"}, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestJobIndexes(t *testing.T) {
	for _, tc := range []struct {
		in          string
		completions int
		add         []int
		want        string
		total       int
	}{
		{"", 5, nil, "", 0},
		{"1,3-5,7", 10, nil, "1,3-5,7", 5},
		{"1,3-5,7", 6, nil, "1,3-5", 4},
		{"1", 10, []int{2}, "1,2", 2},
		{"1,2", 10, []int{0, 3}, "0-3", 4},
		{"x,2-1,4", 10, []int{6, 6}, "4,6", 2},
	} {
		got := parseJobIndexes(tc.in, tc.completions).with(tc.add)
		if got.String() != tc.want || got.total() != tc.total {
			t.Errorf("parse(%q, %d).with(%v) = %q (%d), want %q (%d)", tc.in, tc.completions, tc.add, got, got.total(), tc.want, tc.total)
		}
	}
	x := parseJobIndexes("1,3-5", 10)
	for i, want := range []bool{false, true, false, true, true, true, false} {
		if x.has(i) != want {
			t.Errorf("has(%d) = %v, want %v", i, !want, want)
		}
	}
}

func TestJobBackoff(t *testing.T) {
	failedAt := func(ago time.Duration) *corev1.Pod {
		return testJobPod("p", corev1.PodFailed, func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Terminated.FinishedAt = metav1.NewTime(jobTestNow.Add(-ago))
		})
	}
	succeededAt := func(ago time.Duration) *corev1.Pod {
		return testJobPod("p", corev1.PodSucceeded, func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Terminated.FinishedAt = metav1.NewTime(jobTestNow.Add(-ago))
		})
	}
	for _, tc := range []struct {
		name      string
		start     jobBackoff
		succeeded []*corev1.Pod
		failed    []*corev1.Pod
		want      time.Duration
	}{
		{"no failures", jobBackoff{}, nil, nil, 0},
		{"first failure", jobBackoff{}, nil, []*corev1.Pod{failedAt(time.Second)}, 9 * time.Second},
		{"third failure doubles twice", jobBackoff{failures: 2}, nil, []*corev1.Pod{failedAt(0)}, 40 * time.Second},
		{"capped", jobBackoff{failures: 20}, nil, []*corev1.Pod{failedAt(0)}, 10 * time.Minute},
		{"long ago", jobBackoff{}, nil, []*corev1.Pod{failedAt(time.Hour)}, 0},
		{"success resets", jobBackoff{failures: 5, lastFailure: jobTestNow}, []*corev1.Pod{succeededAt(0)}, nil, 0},
		{"failure after success", jobBackoff{failures: 5}, []*corev1.Pod{succeededAt(3 * time.Second)}, []*corev1.Pod{failedAt(time.Second), failedAt(5 * time.Second)}, 9 * time.Second},
	} {
		b := tc.start.next(tc.succeeded, tc.failed, jobTestNow)
		if got := b.remaining(jobTestNow, 10*time.Second, 10*time.Minute); got != tc.want {
			t.Errorf("%s: remaining = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestJobWantActive(t *testing.T) {
	for _, tc := range []struct {
		completions, parallelism *int32
		succeeded, active        int32
		want                     int32
	}{
		{ptr.To[int32](3), ptr.To[int32](2), 0, 0, 2},
		{ptr.To[int32](3), ptr.To[int32](2), 2, 1, 1},
		{ptr.To[int32](3), ptr.To[int32](2), 3, 0, 0},
		{ptr.To[int32](3), ptr.To[int32](5), 4, 0, 0},
		{nil, ptr.To[int32](3), 0, 1, 3},
		{nil, ptr.To[int32](3), 1, 2, 2}, // a success: the others run out, no new ones
	} {
		s := &jobSync{job: testJob(tc.completions, tc.parallelism), succeeded: tc.succeeded, active: tc.active}
		if got := s.wantActive(); got != tc.want {
			t.Errorf("completions %v parallelism %v succeeded %d active %d: want active %d, got %d",
				ptr.Deref(tc.completions, -1), *tc.parallelism, tc.succeeded, tc.active, tc.want, got)
		}
	}
}

func TestJobPodsToRemove(t *testing.T) {
	at := func(name string, phase corev1.PodPhase, node string, age time.Duration) *corev1.Pod {
		return testJobPod(name, phase, func(p *corev1.Pod) {
			p.Spec.NodeName = node
			p.CreationTimestamp = metav1.NewTime(jobTestNow.Add(-age))
		})
	}
	pods := []*corev1.Pod{
		at("running-old", corev1.PodRunning, "n", time.Hour),
		at("running-new", corev1.PodRunning, "n", time.Minute),
		at("pending", corev1.PodPending, "n", time.Hour),
		at("unscheduled", corev1.PodPending, "", time.Hour),
	}
	var got []string
	for _, p := range jobPodsToRemove(testJob(ptr.To[int32](1), ptr.To[int32](1)), pods, 3) {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"unscheduled", "pending", "running-new"}, got); diff != "" {
		t.Errorf("removal order (-want +got):\n%s", diff)
	}
}
