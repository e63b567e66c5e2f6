package prober

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestWorkerStep(t *testing.T) {
	// Each step: seconds since the container started at which Step is
	// called, and the verdict and change it must return. The probe has an
	// initial delay of 2s and a period of 3s; the script answers in order.
	type step struct {
		at      int
		want    Result
		changed bool
	}
	tests := []struct {
		name    string
		kind    Kind
		probe   *corev1.Probe
		script  string
		steps   []step
		wantRun int // probes run
	}{
		{"readiness waits its initial delay and period", Readiness, &corev1.Probe{InitialDelaySeconds: 2, PeriodSeconds: 3},
			"sf", []step{{0, Failure, false}, {2, Success, true}, {4, Success, false}, {5, Success, false}}, 2},
		{"readiness failure threshold", Readiness, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2},
			"sff", []step{{0, Success, true}, {1, Success, false}, {2, Failure, true}}, 3},
		{"liveness fails once and stops", Liveness, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1},
			"fs", []step{{0, Failure, true}, {1, Failure, false}, {2, Failure, false}}, 1},
		{"startup succeeds and stops", Startup, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 3},
			"fss", []step{{0, Unknown, false}, {1, Success, true}, {2, Success, false}}, 2},
		{"startup fails past its threshold", Startup, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2},
			"ff", []step{{0, Unknown, false}, {1, Failure, true}}, 2},
		{"errors are thrown away", Readiness, &corev1.Probe{PeriodSeconds: 1},
			"es", []step{{0, Failure, false}, {1, Success, true}}, 2},
		{"no probe is a success at once", Liveness, nil, "", []step{{0, Success, false}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := &script{steps: tt.script, cancel: func() {}}
			if tt.probe != nil {
				tt.probe.Exec = &corev1.ExecAction{Command: []string{"true"}}
			}
			started := time.Unix(1000, 0)
			now := started
			w := NewWorker(tt.kind, tt.probe, &corev1.Container{}, Target{Exec: s.exec}, func() time.Time { return now })
			for i, st := range tt.steps {
				now = started.Add(time.Duration(st.at) * time.Second)
				got, changed := w.Step(ctx, started)
				if got != st.want || changed != st.changed {
					t.Errorf("step %d at %ds: Step = %v, %v; want %v, %v", i, st.at, got, changed, st.want, st.changed)
				}
			}
			if s.calls != tt.wantRun {
				t.Errorf("probed %d times, want %d", s.calls, tt.wantRun)
			}
		})
	}
}
