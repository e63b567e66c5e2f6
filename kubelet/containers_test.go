package kubelet

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/backoff"
	"github.com/berth-dev/berth/kubelet/runtime"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func running(attempt int) record {
	return record{attempt: attempt, status: runtime.ContainerStatus{ID: "x", State: runtime.StateRunning}}
}

func exited(attempt, code int, finished time.Time) record {
	return record{attempt: attempt, status: runtime.ContainerStatus{ID: "x", State: runtime.StateExited, ExitCode: code, FinishedAt: finished}}
}

func testPod(policy corev1.RestartPolicy, inits []string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy}}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: n + ":v1"})
	}
	return p
}

// decision is a plan in words, for comparing.
type decision struct {
	Start    []string // name@attempt, "+init" for init containers
	Backoff  []string
	Stop     []string
	InitDone bool
	Failed   bool
}

func describe(p plan) decision {
	d := decision{InitDone: p.initDone, Failed: p.failed, Stop: p.stop}
	for _, s := range p.start {
		n := s.container.Name + "@" + string(rune('0'+s.attempt))
		if s.init {
			n += "+init"
		}
		d.Start = append(d.Start, n)
	}
	for n := range p.backoff {
		d.Backoff = append(d.Backoff, n)
	}
	return d
}

func TestDecide(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		pod    *corev1.Pod
		latest map[string]record
		want   decision
	}{
		{"new pod starts all containers", testPod(corev1.RestartPolicyAlways, nil, "a", "b"), nil,
			decision{Start: []string{"a@0", "b@0"}, InitDone: true}},
		{"running stays", testPod(corev1.RestartPolicyAlways, nil, "a"), map[string]record{"a": running(0)},
			decision{InitDone: true}},
		{"first init container first", testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"), nil,
			decision{Start: []string{"i1@0+init"}}},
		{"init containers one at a time", testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			map[string]record{"i1": running(0)}, decision{}},
		{"next init after success", testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			map[string]record{"i1": exited(0, 0, t0)}, decision{Start: []string{"i2@0+init"}}},
		{"containers after all inits", testPod(corev1.RestartPolicyAlways, []string{"i1"}, "a"),
			map[string]record{"i1": exited(0, 0, t0)}, decision{Start: []string{"a@0"}, InitDone: true}},
		{"failed init restarted", testPod(corev1.RestartPolicyOnFailure, []string{"i1"}, "a"),
			map[string]record{"i1": exited(0, 1, t0)}, decision{Start: []string{"i1@1+init"}}},
		{"failed init under Never fails the pod", testPod(corev1.RestartPolicyNever, []string{"i1"}, "a"),
			map[string]record{"i1": exited(0, 1, t0)}, decision{Failed: true}},
		{"Always restarts a completed container", testPod(corev1.RestartPolicyAlways, nil, "a"),
			map[string]record{"a": exited(0, 0, t0)}, decision{Start: []string{"a@1"}, InitDone: true}},
		{"OnFailure keeps a completed container", testPod(corev1.RestartPolicyOnFailure, nil, "a"),
			map[string]record{"a": exited(0, 0, t0)}, decision{InitDone: true}},
		{"OnFailure restarts a failed container", testPod(corev1.RestartPolicyOnFailure, nil, "a"),
			map[string]record{"a": exited(2, 1, t0)}, decision{Start: []string{"a@3"}, InitDone: true}},
		{"Never keeps a failed container", testPod(corev1.RestartPolicyNever, nil, "a"),
			map[string]record{"a": exited(0, 1, t0)}, decision{InitDone: true}},
		{"crash loop waits out its backoff", testPod(corev1.RestartPolicyAlways, nil, "a"),
			map[string]record{"a": exited(3, 1, now.Add(-5*time.Second))}, decision{Backoff: []string{"a"}, InitDone: true}},
		{"crash loop restarts after its backoff", testPod(corev1.RestartPolicyAlways, nil, "a"),
			map[string]record{"a": exited(3, 1, now.Add(-11*time.Second))}, decision{Start: []string{"a@4"}, InitDone: true}},
		{"a container whose image changed is stopped", testPod(corev1.RestartPolicyNever, nil, "a"),
			map[string]record{"a": {attempt: 0, status: runtime.ContainerStatus{ID: "old", State: runtime.StateRunning, Image: "docker.io/library/old:v1"}}},
			decision{Stop: []string{"old"}, InitDone: true}},
		{"and started again with the new one, whatever the policy", testPod(corev1.RestartPolicyNever, nil, "a"),
			map[string]record{"a": {attempt: 0, status: runtime.ContainerStatus{ID: "old", State: runtime.StateExited, ExitCode: 143, Image: "docker.io/library/old:v1", FinishedAt: now}}},
			decision{Start: []string{"a@1"}, InitDone: true}},
		{"a created container is started", testPod(corev1.RestartPolicyAlways, nil, "a"),
			map[string]record{"a": {attempt: 1, status: runtime.ContainerStatus{ID: "c", State: runtime.StateCreated}}},
			decision{Start: []string{"a@1"}, InitDone: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bo := backoff.New(backoff.Options{})
			for name, r := range tt.latest {
				if r.status.State == runtime.StateExited {
					bo.Next(backoffKey(tt.pod.UID, name), r.status.FinishedAt)
				}
			}
			got := describe(decide(tt.pod, tt.latest, bo, now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerID(t *testing.T) {
	uid := "0b5e2f7c-4a8d-4d7e-9a59-6b1c2d3e4f50"
	if got := containerID(uid, "app", 2); got != uid+"-app-2" {
		t.Errorf("containerID = %q", got)
	}
	long := containerID(uid, strings.Repeat("c", 63), 12)
	if len(long) > maxContainerID || !strings.HasPrefix(long, uid) || !strings.HasSuffix(long, "-12") {
		t.Errorf("containerID of a long name = %q (%d bytes)", long, len(long))
	}
	if long == containerID(uid, strings.Repeat("c", 62)+"d", 12) {
		t.Error("two long names give one ID")
	}
}

func TestLatestRecords(t *testing.T) {
	st := func(id, name, attempt string) runtime.ContainerStatus {
		return runtime.ContainerStatus{ID: id, Labels: map[string]string{runtime.LabelContainerName: name, runtime.LabelAttempt: attempt}}
	}
	got := latestRecords([]runtime.ContainerStatus{st("a1", "a", "1"), st("a3", "a", "3"), st("a2", "a", "2"), st("b0", "b", "0"), st("bad", "b", "x")})
	if got["a"].status.ID != "a3" || got["a"].attempt != 3 || got["b"].status.ID != "b0" || len(got) != 2 {
		t.Errorf("latestRecords = %+v", got)
	}
}

func TestNoteExits(t *testing.T) {
	// Each step is the newest attempt of container "a" a pass sees: a run
	// of startedAt..finishedAt; want is the backoff it gets (0: not noted
	// again).
	type step struct {
		id                string
		started, finished time.Duration // after t0
		want              time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"doubles per exit", []step{{"a0", 0, time.Second, 10 * time.Second}, {"a1", 20 * time.Second, 21 * time.Second, 20 * time.Second},
			{"a2", time.Minute, time.Minute + time.Second, 40 * time.Second}}},
		{"an exit is noted once", []step{{"a0", 0, time.Second, 10 * time.Second}, {"a0", 0, time.Second, 0}}},
		{"a run of ten minutes starts over", []step{{"a0", 0, time.Second, 10 * time.Second}, {"a1", time.Minute, 20 * time.Second, 20 * time.Second},
			{"a2", time.Minute, 11 * time.Minute, 10 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &Kubelet{crashBackoff: backoff.New(backoff.Options{})}
			pod := testPod(corev1.RestartPolicyAlways, nil, "a")
			st := newPodState()
			for i, s := range tt.steps {
				before := st.exits["a"]
				r := record{attempt: i, status: runtime.ContainerStatus{ID: s.id, State: runtime.StateExited, StartedAt: t0.Add(s.started), FinishedAt: t0.Add(s.finished)}}
				k.noteExits(pod, st, map[string]record{"a": r})
				got := st.exits["a"].wait
				if s.want == 0 {
					if st.exits["a"] != before {
						t.Errorf("step %d: noted again: %+v", i, st.exits["a"])
					}
					continue
				}
				if got != s.want {
					t.Errorf("step %d: backoff %v, want %v", i, got, s.want)
				}
			}
		})
	}
}

func TestPreviousRecords(t *testing.T) {
	st := func(id, attempt string) runtime.ContainerStatus {
		return runtime.ContainerStatus{ID: id, Labels: map[string]string{runtime.LabelContainerName: "a", runtime.LabelAttempt: attempt}}
	}
	all := []runtime.ContainerStatus{st("a0", "0"), st("a2", "2"), st("a1", "1")}
	prev := previousRecords(all, latestRecords(all))
	if prev["a"].status.ID != "a1" || len(prev) != 1 {
		t.Errorf("previousRecords = %+v", prev)
	}
}
