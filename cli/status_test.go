package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// The -update flag rewrites golden files; whichever test file of the package
// initialises first registers it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

// checkStatusGolden compares got with testdata/status/name, or rewrites it with
// -update.
func checkStatusGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "status", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update to accept):\n%s", path, diff)
	}
}

var statusNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestWorkloadHealth(t *testing.T) {
	dep := func(gen, observed int64, desired, updated, available, total int32, conds ...appsv1.DeploymentCondition) appsv1.Deployment {
		return appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d", Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr(desired)},
			Status: appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, AvailableReplicas: available,
				ReadyReplicas: available, Replicas: total, Conditions: conds},
		}
	}
	job := func(succeeded int32, conds ...batchv1.JobCondition) batchv1.Job {
		return batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j"}, Status: batchv1.JobStatus{Succeeded: succeeded, Conditions: conds}}
	}
	for _, tc := range []struct {
		name        string
		in          SnapshotInput
		health, msg string
	}{
		{"deployment rolled out", SnapshotInput{Deployments: []appsv1.Deployment{dep(2, 2, 3, 3, 3, 3)}}, Healthy, ""},
		{"deployment spec not seen", SnapshotInput{Deployments: []appsv1.Deployment{dep(3, 2, 3, 3, 3, 3)}}, Progressing, "waiting for the controller to see the new spec"},
		{"deployment updating", SnapshotInput{Deployments: []appsv1.Deployment{dep(2, 2, 3, 1, 3, 4)}}, Progressing, "1 of 3 updated"},
		{"deployment old pods", SnapshotInput{Deployments: []appsv1.Deployment{dep(2, 2, 3, 3, 3, 4)}}, Progressing, "1 old pods pending termination"},
		{"deployment unavailable", SnapshotInput{Deployments: []appsv1.Deployment{dep(2, 2, 3, 3, 2, 3)}}, Progressing, "2 of 3 available"},
		{"deployment deadline", SnapshotInput{Deployments: []appsv1.Deployment{dep(2, 2, 3, 1, 2, 3, appsv1.DeploymentCondition{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "d-1" has timed out progressing.`})}},
			Degraded, `ReplicaSet "d-1" has timed out progressing.`},
		{"daemonset", SnapshotInput{DaemonSets: []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Name: "ds"},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 1, NumberReady: 1}}}},
			Progressing, "1 of 2 available"},
		{"statefulset", SnapshotInput{StatefulSets: []appsv1.StatefulSet{{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(1))},
			Status: appsv1.StatefulSetStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}}}}, Healthy, ""},
		{"job running", SnapshotInput{Jobs: []batchv1.Job{job(0)}}, Progressing, "0 active, 0 succeeded, 0 failed"},
		{"job complete", SnapshotInput{Jobs: []batchv1.Job{job(1, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})}}, Healthy, ""},
		{"job failed", SnapshotInput{Jobs: []batchv1.Job{job(0, batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"})}},
			Degraded, "BackoffLimitExceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(tc.in)
			if len(s.Workloads) != 1 {
				t.Fatalf("workloads: %+v", s.Workloads)
			}
			if w := s.Workloads[0]; w.Health != tc.health || w.Message != tc.msg {
				t.Errorf("got %s %q, want %s %q", w.Health, w.Message, tc.health, tc.msg)
			}
		})
	}
}

// pod is a pod on a node, requesting cpu and memory per container.
func pod(node string, phase corev1.PodPhase, cpu ...string) corev1.Pod {
	p := corev1.Pod{Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	for _, c := range cpu {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c), corev1.ResourceMemory: resource.MustParse("64Mi")},
		}})
	}
	return p
}

// node is a Ready or NotReady node with 2 CPUs, 4Gi and 10 pods.
func node(name string, ready bool) corev1.Node {
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionUnknown
	}
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"),
				corev1.ResourcePods: resource.MustParse("10")},
		},
	}
}

func TestNodeRequests(t *testing.T) {
	withInit := pod("a", corev1.PodRunning, "100m")
	withInit.Spec.InitContainers = []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}
	s := NewSnapshot(SnapshotInput{
		Nodes: []corev1.Node{node("b", false), node("a", true)},
		Pods: []corev1.Pod{
			pod("a", corev1.PodRunning, "250m", "250m"), pod("a", corev1.PodSucceeded, "1"), pod("a", corev1.PodPending, "100m"),
			withInit, pod("", corev1.PodPending, "1"), pod("gone", corev1.PodRunning, "1"),
		},
	})
	var got []string
	for _, n := range s.Nodes {
		got = append(got, fmt.Sprintf("%s ready=%v pods=%d/%d cpu=%s/%s mem=%s/%s", n.Name, n.Ready, n.Pods, n.PodCapacity,
			n.CPURequested.String(), n.CPUAllocatable.String(), n.MemRequested.String(), n.MemAllocatable.String()))
	}
	want := []string{
		// 250m+250m, 100m, max(100m, init 500m); the finished pod is not counted.
		"a ready=true pods=3/10 cpu=1100m/2 mem=256Mi/4Gi",
		"b ready=false pods=0/10 cpu=0/2 mem=0/4Gi",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWarnings(t *testing.T) {
	var events []corev1.Event
	for i := range 14 {
		events = append(events, corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint(i)}, Type: corev1.EventTypeWarning,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprintf("p%d", i)}, Reason: "BackOff",
			LastTimestamp: metav1.NewTime(statusNow.Add(-time.Duration(i) * time.Minute)),
		})
	}
	events = append(events,
		corev1.Event{Type: corev1.EventTypeNormal, LastTimestamp: metav1.NewTime(statusNow)},
		corev1.Event{Type: corev1.EventTypeWarning, Reason: "Old", LastTimestamp: metav1.NewTime(statusNow.Add(-2 * time.Hour))},
		corev1.Event{Type: corev1.EventTypeWarning, Reason: "Series", EventTime: metav1.NewMicroTime(statusNow.Add(-30 * time.Second)),
			Series: &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(statusNow.Add(-10 * time.Second))}},
	)
	s := NewSnapshot(SnapshotInput{Now: statusNow, Events: events})
	if len(s.Warnings) != MaxWarnings {
		t.Fatalf("%d warnings, want %d", len(s.Warnings), MaxWarnings)
	}
	if w := s.Warnings[1]; w.Reason != "Series" || w.Count != 4 || !w.Last.Equal(statusNow.Add(-10*time.Second)) {
		t.Errorf("second warning %+v, want the series seen 10s ago, 4 times", w)
	}
	for i := 1; i < len(s.Warnings); i++ {
		if s.Warnings[i].Last.After(s.Warnings[i-1].Last) {
			t.Errorf("warnings not newest first: %+v", s.Warnings)
		}
	}
}

// screenSnapshot has one of everything the screen shows.
func screenSnapshot() Snapshot {
	synced := metav1.NewTime(statusNow.Add(-12 * time.Second))
	var objs []berthv1.ManagedObject
	for i := range 12 {
		objs = append(objs, berthv1.ManagedObject{Kind: "ConfigMap", Namespace: "shop", Name: fmt.Sprintf("cm-%02d", i), Drift: []string{"data.key"}})
	}
	return NewSnapshot(SnapshotInput{
		Now: statusNow,
		Sources: []berthv1.GitSource{
			{
				ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "default"},
				Spec:       berthv1.GitSourceSpec{URL: "file:///srv/git/shop", Branch: "main", Path: "."},
				Status: berthv1.GitSourceStatus{Revision: "0123456789abcdef0123", RevisionMessage: "Add the web Deployment", AppliedRevision: "0123456789abcdef0123",
					Phase: "Synced", Health: "Progressing", LastSyncTime: &synced, Objects: objs},
			},
			{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "paused"},
				Spec:       berthv1.GitSourceSpec{URL: "https://git.example/team.git", Tag: "v1.2.0", Suspend: true},
				Status: berthv1.GitSourceStatus{Phase: "Failed", Health: "Degraded", LastError: "fetch: authentication required",
					Errors: []string{"fetch: authentication required", "a second error"}},
			},
		},
		Nodes:       []corev1.Node{node("node-1", true), node("node-2", false)},
		Pods:        []corev1.Pod{pod("node-1", corev1.PodRunning, "1500m")},
		Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3))}, Status: appsv1.DeploymentStatus{ReadyReplicas: 1, UpdatedReplicas: 3, AvailableReplicas: 1, Replicas: 3}}},
		Jobs:        []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "nightly"}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Message: "Job has reached the specified backoff limit"}}}}},
		Events: []corev1.Event{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Type: corev1.EventTypeWarning, Reason: "FailedScheduling",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-2"}, Message: "0/2 nodes are available:\n1 Insufficient cpu.", Count: 3,
			LastTimestamp: metav1.NewTime(statusNow.Add(-40 * time.Second))}},
	})
}

func TestWriteStatus(t *testing.T) {
	for _, tc := range []struct {
		golden string
		colour bool
		snap   Snapshot
	}{
		{"screen.txt", false, screenSnapshot()},
		{"screen-colour.txt", true, screenSnapshot()},
		{"empty.txt", false, NewSnapshot(SnapshotInput{Now: statusNow})},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatus(&b, tc.snap, StatusOptions{Now: statusNow, Colour: tc.colour}); err != nil {
				t.Fatal(err)
			}
			checkStatusGolden(t, tc.golden, b.String())
		})
	}
}
