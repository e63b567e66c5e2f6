package kubelet

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/prober"
)

// scriptedTarget is a probe target whose exec exits with codes in turn.
func scriptedTarget(codes ...int) prober.Target {
	return prober.Target{Exec: func(context.Context, []string, time.Duration) (int, []byte, error) {
		if len(codes) == 0 {
			return 1, nil, nil
		}
		code := codes[0]
		codes = codes[1:]
		return code, nil, nil
	}}
}

func execProbe(threshold int32) *corev1.Probe {
	return &corev1.Probe{PeriodSeconds: 1, FailureThreshold: threshold,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}}
}

func TestContainerProbes(t *testing.T) {
	// Each pass is one second after the last; the script answers the
	// probes that run in it in order (startup, liveness, readiness).
	type pass struct {
		restart        string // why, "" for none
		started, ready bool
	}
	tests := []struct {
		name   string
		c      corev1.Container
		script []int
		passes []pass
	}{
		{"no probes: started and ready", corev1.Container{}, nil, []pass{{"", true, true}}},
		{"liveness below its threshold, then past it", corev1.Container{LivenessProbe: execProbe(2), ReadinessProbe: execProbe(2)},
			[]int{0, 0, 1, 1, 1}, []pass{{"", true, true}, {"", true, true}, {"liveness probe failed", true, false}}},
		{"startup gates liveness and readiness", corev1.Container{StartupProbe: execProbe(3), ReadinessProbe: execProbe(3)},
			[]int{1, 0, 0}, []pass{{"", false, false}, {"", true, true}}},
		{"startup failure restarts once", corev1.Container{StartupProbe: execProbe(1), LivenessProbe: execProbe(1)},
			[]int{1}, []pass{{"startup probe failed", false, false}, {"", false, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			k := &Kubelet{now: func() time.Time { return now }}
			cp := k.newContainerProbes(&tt.c, scriptedTarget(tt.script...))
			for i, want := range tt.passes {
				_, why := cp.step(context.Background(), t0)
				if got := (pass{why, cp.started, cp.ready}); got != want {
					t.Errorf("pass %d: %+v, want %+v", i, got, want)
				}
				now = now.Add(time.Second)
			}
		})
	}
}
