package prober

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Worker repeats one probe of one container instance and reports the
// thresholded result, as the kubelet's prober worker.
type Worker struct {
	kind  Kind
	probe *corev1.Probe
	c     *corev1.Container
	t     Target
	now   func() time.Time

	// After waits, as time.After; tests replace it to run periods at once.
	After func(d time.Duration) <-chan time.Time
}

// NewWorker returns a worker running probe p of kind for container c
// against t; now tells the time (nil: time.Now).
func NewWorker(kind Kind, p *corev1.Probe, c *corev1.Container, t Target, now func() time.Time) *Worker {
	if now == nil {
		now = time.Now
	}
	return &Worker{kind: kind, probe: p, c: c, t: t, now: now, After: time.After}
}

// Initial is the result a worker of kind reports before its first verdict:
// Failure for readiness (not ready until proven), Success for liveness
// (alive until proven dead) and Unknown for startup (not started), as the
// kubelet's.
func Initial(kind Kind) Result {
	switch kind {
	case Readiness:
		return Failure
	case Liveness:
		return Success
	default:
		return Unknown
	}
}

// Run reports Initial(kind), then probes the container that started at
// started every periodSeconds (default 10) from initialDelaySeconds after
// its start, each with timeoutSeconds (default 1). It reports a result when
// it has been seen successThreshold (default 1) or failureThreshold
// (default 3) times in a row and differs from the last reported; results
// of probes that could not run (Unknown) are thrown away. Run returns when
// ctx ends, after reporting a liveness Failure (the container is to be
// restarted; a new container gets a new worker) and after a startup
// verdict, as the kubelet stops probing then. A nil probe reports Success
// and returns.
func (w *Worker) Run(ctx context.Context, started time.Time, out func(Result)) {
	if w.probe == nil {
		out(Success) // no probe: the kubelet counts the check as passed
		return
	}
	reported := Initial(w.kind)
	out(reported)
	period := seconds(w.probe.PeriodSeconds, 10)
	successThreshold := int(max(w.probe.SuccessThreshold, 1))
	failureThreshold := int(max(w.probe.FailureThreshold, 1))
	if w.probe.FailureThreshold == 0 {
		failureThreshold = 3
	}
	if delay := started.Add(seconds(w.probe.InitialDelaySeconds, 0)).Sub(w.now()); delay > 0 {
		if !w.wait(ctx, delay) {
			return
		}
	}
	last, run := Unknown, 0
	for {
		result, _ := Probe(ctx, w.probe, w.c, w.t)
		if ctx.Err() != nil {
			return
		}
		if result != Unknown {
			if result == last {
				run++
			} else {
				last, run = result, 1
			}
			met := (result == Success && run >= successThreshold) || (result == Failure && run >= failureThreshold)
			if met {
				if result != reported {
					reported = result
					out(result)
				}
				if (w.kind == Liveness && result == Failure) || w.kind == Startup {
					return
				}
			}
		}
		if !w.wait(ctx, period) {
			return
		}
	}
}

// wait sleeps d or until ctx ends, reporting whether to go on.
func (w *Worker) wait(ctx context.Context, d time.Duration) bool {
	after := w.After
	if after == nil {
		after = time.After
	}
	select {
	case <-ctx.Done():
		return false
	case <-after(d):
		return true
	}
}

func seconds(n int32, def time.Duration) time.Duration {
	if n <= 0 {
		return def * time.Second
	}
	return time.Duration(n) * time.Second
}
