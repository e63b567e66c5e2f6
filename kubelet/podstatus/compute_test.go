package podstatus

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func pod(policy corev1.RestartPolicy, init []string, sidecars []string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy}}
	always := corev1.ContainerRestartPolicyAlways
	for _, n := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img-" + n})
	}
	for _, n := range sidecars {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img-" + n, RestartPolicy: &always})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "img-" + n})
	}
	return p
}

func running(name string, ready bool) ContainerState {
	return ContainerState{Name: name, State: Running, Ready: ready, StartedAt: t0}
}

func exited(name string, code int32) ContainerState {
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	return ContainerState{Name: name, State: Terminated, ExitCode: code, Reason: reason, StartedAt: t0, FinishedAt: t0.Add(time.Second)}
}

func crashLooping(name string, lastCode int32) ContainerState {
	last := exited(name, lastCode)
	return ContainerState{Name: name, State: Waiting, Reason: "CrashLoopBackOff", RestartCount: 3, Last: &last}
}

// summary renders the parts of a status a user reads in kubectl.
func summary(s corev1.PodStatus) []string {
	out := []string{"phase " + string(s.Phase)}
	for _, c := range s.Conditions {
		out = append(out, fmt.Sprintf("%s=%s %s %s", c.Type, c.Status, c.Reason, c.Message))
	}
	for _, list := range [][]corev1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses} {
		for _, cs := range list {
			state := "?"
			switch {
			case cs.State.Waiting != nil:
				state = "waiting " + cs.State.Waiting.Reason
			case cs.State.Running != nil:
				state = "running"
			case cs.State.Terminated != nil:
				state = fmt.Sprintf("terminated %d", cs.State.Terminated.ExitCode)
			}
			if cs.LastTerminationState.Terminated != nil {
				state += fmt.Sprintf(" last %d", cs.LastTerminationState.Terminated.ExitCode)
			}
			out = append(out, fmt.Sprintf("%s %s ready=%v started=%v restarts=%d", cs.Name, state, cs.Ready, *cs.Started, cs.RestartCount))
		}
	}
	return out
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		in   Input
		want []string
	}{
		{
			name: "nothing created yet",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a", "b"),
			in:   Input{},
			want: []string{"phase Pending",
				"PodReadyToStartContainers=False  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [a b]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a b]",
				"PodScheduled=True  ",
				"a waiting ContainerCreating ready=false started=false restarts=0",
				"b waiting ContainerCreating ready=false started=false restarts=0"},
		},
		{
			name: "running, one unready",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a", "b"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{running("b", false), running("a", true)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [b]",
				"ContainersReady=False ContainersNotReady containers with unready status: [b]",
				"PodScheduled=True  ",
				"a running ready=true started=true restarts=0",
				"b running ready=false started=true restarts=0"},
		},
		{
			name: "all ready",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{running("a", true)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ", "Ready=True  ", "ContainersReady=True  ", "PodScheduled=True  ",
				"a running ready=true started=true restarts=0"},
		},
		{
			name: "startup probe not passed",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{{Name: "a", State: Running, Ready: true, Started: ptr(false)}}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ", "Ready=True  ", "ContainersReady=True  ", "PodScheduled=True  ",
				"a running ready=true started=false restarts=0"},
		},
		{
			name: "crash loop under Always is Running",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{crashLooping("a", 1)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [a]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a]",
				"PodScheduled=True  ",
				"a waiting CrashLoopBackOff last 1 ready=false started=false restarts=3"},
		},
		{
			name: "Never: all succeeded",
			pod:  pod(corev1.RestartPolicyNever, nil, nil, "a", "b"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{exited("a", 0), exited("b", 0)}},
			want: []string{"phase Succeeded",
				"PodReadyToStartContainers=True  ", "Initialized=True PodCompleted ",
				"Ready=False PodCompleted ", "ContainersReady=False PodCompleted ", "PodScheduled=True  ",
				"a terminated 0 ready=false started=false restarts=0",
				"b terminated 0 ready=false started=false restarts=0"},
		},
		{
			name: "Never: one failed",
			pod:  pod(corev1.RestartPolicyNever, nil, nil, "a", "b"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{exited("a", 0), exited("b", 2)}},
			want: []string{"phase Failed",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False PodFailed ", "ContainersReady=False PodFailed ", "PodScheduled=True  ",
				"a terminated 0 ready=false started=false restarts=0",
				"b terminated 2 ready=false started=false restarts=0"},
		},
		{
			name: "Never: one still running",
			pod:  pod(corev1.RestartPolicyNever, nil, nil, "a", "b"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{exited("a", 1), running("b", true)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [a]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a]",
				"PodScheduled=True  ",
				"a terminated 1 ready=false started=false restarts=0",
				"b running ready=true started=true restarts=0"},
		},
		{
			name: "OnFailure: failed container restarting is Running, all succeeded is Succeeded",
			pod:  pod(corev1.RestartPolicyOnFailure, nil, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Containers: []ContainerState{crashLooping("a", 1)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [a]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a]",
				"PodScheduled=True  ",
				"a waiting CrashLoopBackOff last 1 ready=false started=false restarts=3"},
		},
		{
			name: "Always but terminal: Succeeded",
			pod:  pod(corev1.RestartPolicyAlways, nil, nil, "a"),
			in:   Input{Terminal: true, Containers: []ContainerState{exited("a", 0)}},
			want: []string{"phase Succeeded",
				"PodReadyToStartContainers=False  ", "Initialized=True PodCompleted ",
				"Ready=False PodCompleted ", "ContainersReady=False PodCompleted ", "PodScheduled=True  ",
				"a terminated 0 ready=false started=false restarts=0"},
		},
		{
			name: "init container running",
			pod:  pod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Init: []ContainerState{exited("i1", 0), running("i2", false)}},
			want: []string{"phase Pending",
				"PodReadyToStartContainers=True  ",
				"Initialized=False ContainersNotInitialized containers with incomplete status: [i2]",
				"Ready=False ContainersNotReady containers with unready status: [a]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a]",
				"PodScheduled=True  ",
				"i1 terminated 0 ready=true started=false restarts=0",
				"i2 running ready=false started=true restarts=0",
				"a waiting PodInitializing ready=false started=false restarts=0"},
		},
		{
			name: "init container failed under Never",
			pod:  pod(corev1.RestartPolicyNever, []string{"i1"}, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Init: []ContainerState{exited("i1", 1)}},
			want: []string{"phase Failed",
				"PodReadyToStartContainers=True  ",
				"Initialized=False ContainersNotInitialized containers with incomplete status: [i1]",
				"Ready=False PodFailed ", "ContainersReady=False PodFailed ", "PodScheduled=True  ",
				"i1 terminated 1 ready=false started=false restarts=0",
				"a waiting PodInitializing ready=false started=false restarts=0"},
		},
		{
			name: "init container crash looping under Always stays Pending",
			pod:  pod(corev1.RestartPolicyAlways, []string{"i1"}, nil, "a"),
			in:   Input{PodIP: "10.0.0.2", Init: []ContainerState{crashLooping("i1", 1)}},
			want: []string{"phase Pending",
				"PodReadyToStartContainers=True  ",
				"Initialized=False ContainersNotInitialized containers with incomplete status: [i1]",
				"Ready=False ContainersNotReady containers with unready status: [a]",
				"ContainersReady=False ContainersNotReady containers with unready status: [a]",
				"PodScheduled=True  ",
				"i1 waiting CrashLoopBackOff last 1 ready=false started=false restarts=3",
				"a waiting PodInitializing ready=false started=false restarts=0"},
		},
		{
			name: "sidecar started, main running",
			pod:  pod(corev1.RestartPolicyAlways, []string{"i1"}, []string{"side"}, "a"),
			in: Input{PodIP: "10.0.0.2", InitDone: true,
				Init:       []ContainerState{exited("i1", 0), running("side", false)},
				Containers: []ContainerState{running("a", true)}},
			want: []string{"phase Running",
				"PodReadyToStartContainers=True  ", "Initialized=True  ",
				"Ready=False ContainersNotReady containers with unready status: [side]",
				"ContainersReady=False ContainersNotReady containers with unready status: [side]",
				"PodScheduled=True  ",
				"i1 terminated 0 ready=true started=false restarts=0",
				"side running ready=false started=true restarts=0",
				"a running ready=true started=true restarts=0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(Compute(tt.pod, tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeKeepsOldStatus(t *testing.T) {
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	p := pod(corev1.RestartPolicyAlways, nil, nil, "a")
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	p.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		StartTime: &earlier,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: earlier},
			{Type: "example.com/lb", Status: corev1.ConditionFalse, LastTransitionTime: earlier},
			{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: earlier},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: earlier},
		},
	}
	s := Compute(p, Input{Now: t0, PodIP: "10.0.0.2", PodIPs: []string{"10.0.0.2", "fd00::2"}, HostIP: "192.168.0.1",
		Containers: []ContainerState{{Name: "a", State: Running, Ready: true, StartedAt: t0, Image: "docker.io/library/img-a:latest",
			ImageID: "sha256:abc", ContainerID: "containerd://123", RestartCount: 1}}})
	type cond struct {
		Type    corev1.PodConditionType
		Status  corev1.ConditionStatus
		Reason  string
		Message string
		At      time.Time
	}
	var got []cond
	for _, c := range s.Conditions {
		got = append(got, cond{c.Type, c.Status, c.Reason, c.Message, c.LastTransitionTime.Time})
	}
	want := []cond{
		{"example.com/lb", corev1.ConditionFalse, "", "", earlier.Time},
		{corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "", earlier.Time},
		{corev1.PodInitialized, corev1.ConditionTrue, "", "", t0},
		{corev1.PodReady, corev1.ConditionFalse, ReasonReadinessGatesNotReady, `the status of pod readiness gate "example.com/lb" is not "True", but False`, t0},
		{corev1.ContainersReady, corev1.ConditionTrue, "", "", t0},
		{corev1.PodScheduled, corev1.ConditionTrue, "", "", earlier.Time},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if !s.StartTime.Equal(&earlier) {
		t.Errorf("startTime = %v, want %v", s.StartTime, earlier)
	}
	if diff := cmp.Diff([]corev1.PodIP{{IP: "10.0.0.2"}, {IP: "fd00::2"}}, s.PodIPs); diff != "" {
		t.Errorf("podIPs (-want +got):\n%s", diff)
	}
	if s.PodIP != "10.0.0.2" || s.HostIP != "192.168.0.1" || len(s.HostIPs) != 1 || s.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("addresses/qos = %q %q %v %q", s.PodIP, s.HostIP, s.HostIPs, s.QOSClass)
	}
	cs := s.ContainerStatuses[0]
	if cs.Image != "docker.io/library/img-a:latest" || cs.ImageID != "sha256:abc" || cs.ContainerID != "containerd://123" ||
		cs.RestartCount != 1 || !cs.State.Running.StartedAt.Time.Equal(t0) {
		t.Errorf("container status = %+v", cs)
	}

	// A terminal phase is never left.
	p.Status.Phase = corev1.PodSucceeded
	if got := Compute(p, Input{Now: t0, Containers: []ContainerState{running("a", true)}}).Phase; got != corev1.PodSucceeded {
		t.Errorf("phase after Succeeded = %s", got)
	}
}

func TestQOSClass(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = mustQ(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = mustQ(mem)
		}
		return l
	}
	tests := []struct {
		name         string
		limits, reqs corev1.ResourceList
		want         corev1.PodQOSClass
	}{
		{"none", nil, nil, corev1.PodQOSBestEffort},
		{"limits only", rl("1", "1Gi"), nil, corev1.PodQOSGuaranteed},
		{"equal", rl("1", "1Gi"), rl("1000m", "1Gi"), corev1.PodQOSGuaranteed},
		{"lower request", rl("1", "1Gi"), rl("500m", "1Gi"), corev1.PodQOSBurstable},
		{"cpu only", rl("1", ""), nil, corev1.PodQOSBurstable},
		{"requests only", nil, rl("1", "1Gi"), corev1.PodQOSBurstable},
	}
	for _, tt := range tests {
		spec := corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Limits: tt.limits, Requests: tt.reqs}}}}
		if got := qosClass(&spec); got != tt.want {
			t.Errorf("%s: qos = %s, want %s", tt.name, got, tt.want)
		}
	}
}
