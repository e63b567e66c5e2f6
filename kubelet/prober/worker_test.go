package prober

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// script is a fake Exec returning one outcome per call ('s' success, 'f'
// failure, 'e' error); after the last it cancels the run.
type script struct {
	mu     sync.Mutex
	steps  string
	calls  int
	cancel context.CancelFunc
}

func (s *script) exec(ctx context.Context, cmd []string, timeout time.Duration) (int, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= len(s.steps) {
		s.cancel()
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	step := s.steps[s.calls]
	s.calls++
	switch step {
	case 's':
		return 0, nil, nil
	case 'f':
		return 1, nil, nil
	default:
		return 0, nil, errors.New("exec failed")
	}
}

func TestWorker(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		success   int32
		failure   int32
		steps     string
		want      []Result
		wantCalls int
	}{
		{"readiness starts failed, one success makes ready", Readiness, 0, 0, "sss", []Result{Failure, Success}, 3},
		{"readiness needs failureThreshold failures", Readiness, 0, 0, "sffsfff", []Result{Failure, Success, Failure}, 7},
		{"readiness successThreshold", Readiness, 2, 1, "sfssf", []Result{Failure, Success, Failure}, 5},
		{"errors are thrown away, not breaking a run", Readiness, 0, 2, "sfefs", []Result{Failure, Success, Failure, Success}, 5},
		{"liveness stops after failure verdict", Liveness, 0, 3, "ssfffs", []Result{Success, Failure}, 5},
		{"liveness success is not reported again", Liveness, 0, 0, "sffs", []Result{Success}, 4},
		{"startup stops after success", Startup, 0, 0, "fs", []Result{Unknown, Success}, 2},
		{"startup stops after failures", Startup, 0, 2, "ff", []Result{Unknown, Failure}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &script{steps: tt.steps, cancel: cancel}
			p := &corev1.Probe{SuccessThreshold: tt.success, FailureThreshold: tt.failure,
				ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			now := time.Unix(1000, 0)
			w := NewWorker(tt.kind, p, &corev1.Container{}, Target{Exec: s.exec}, func() time.Time { return now })
			var waits []time.Duration
			w.After = func(d time.Duration) <-chan time.Time {
				waits = append(waits, d)
				ch := make(chan time.Time, 1)
				ch <- now
				return ch
			}
			var got []Result
			w.Run(ctx, now, func(r Result) { got = append(got, r) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reported (-want +got):\n%s", diff)
			}
			if s.calls != tt.wantCalls {
				t.Errorf("probed %d times, want %d", s.calls, tt.wantCalls)
			}
			for _, d := range waits {
				if d != 10*time.Second {
					t.Errorf("waited %v, want the default period 10s", d)
				}
			}
		})
	}
}

func TestWorkerInitialDelayAndPeriod(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &script{steps: "s", cancel: cancel}
	p := &corev1.Probe{InitialDelaySeconds: 30, PeriodSeconds: 5,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	started := time.Unix(1000, 0)
	now := started.Add(12 * time.Second)
	w := NewWorker(Readiness, p, &corev1.Container{}, Target{Exec: s.exec}, func() time.Time { return now })
	var waits []time.Duration
	w.After = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		ch := make(chan time.Time, 1)
		ch <- now
		return ch
	}
	w.Run(ctx, started, func(Result) {})
	if diff := cmp.Diff([]time.Duration{18 * time.Second, 5 * time.Second}, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestWorkerRealTimer(t *testing.T) {
	// One real run with the real timer: a readiness probe against an exec
	// that succeeds; the worker reports ready and stops when ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	exec := func(context.Context, []string, time.Duration) (int, []byte, error) { return 0, nil, nil }
	w := NewWorker(Readiness, p, &corev1.Container{}, Target{Exec: exec}, nil)
	done := make(chan struct{})
	results := make(chan Result, 4)
	go func() {
		defer close(done)
		w.Run(ctx, time.Now(), func(r Result) { results <- r })
	}()
	if r := <-results; r != Failure {
		t.Fatalf("first report %v, want Failure", r)
	}
	if r := <-results; r != Success {
		t.Fatalf("second report %v, want Success", r)
	}
	cancel()
	<-done
}

func TestWorkerNilProbe(t *testing.T) {
	for _, kind := range []Kind{Liveness, Readiness, Startup} {
		var got []Result
		NewWorker(kind, nil, &corev1.Container{}, Target{}, nil).Run(context.Background(), time.Now(), func(r Result) { got = append(got, r) })
		if diff := cmp.Diff([]Result{Success}, got); diff != "" {
			t.Errorf("%v: reported (-want +got):\n%s", kind, diff)
		}
	}
}
