package prober

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Worker repeats one probe of one container instance and reports the
// thresholded result, as the kubelet's prober worker. Either Run it in a
// goroutine, or call Step from a loop of one's own; not both.
type Worker struct {
	kind  Kind
	probe *corev1.Probe
	c     *corev1.Container
	t     Target
	now   func() time.Time

	// After waits, as time.After; tests replace it to run periods at once.
	After func(d time.Duration) <-chan time.Time

	// The thresholds' state: the verdict last reported, the result of
	// the last probe that ran and how many times in a row it was seen.
	reported Result
	last     Result
	run      int
	done     bool      // no more probing: liveness failed or startup decided
	next     time.Time // when Step probes next (zero: at the initial delay)
}

// NewWorker returns a worker running probe p of kind for container c
// against t; now tells the time (nil: time.Now).
func NewWorker(kind Kind, p *corev1.Probe, c *corev1.Container, t Target, now func() time.Time) *Worker {
	if now == nil {
		now = time.Now
	}
	w := &Worker{kind: kind, probe: p, c: c, t: t, now: now, After: time.After, reported: Initial(kind)}
	if p == nil {
		w.reported, w.done = Success, true // no probe: the kubelet counts the check as passed
	}
	return w
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
	out(w.reported)
	if w.done {
		return
	}
	if delay := started.Add(seconds(w.probe.InitialDelaySeconds, 0)).Sub(w.now()); delay > 0 {
		if !w.wait(ctx, delay) {
			return
		}
	}
	period := seconds(w.probe.PeriodSeconds, 10)
	for {
		r, changed := w.probeOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if changed {
			out(r)
		}
		if w.done || !w.wait(ctx, period) {
			return
		}
	}
}

// Step is Run for a caller that polls: when the probe is due at now (its
// initial delay after started has passed and a period since the last
// Step that probed), it probes once. It returns the verdict so far (at
// first Initial(kind); Success for a nil probe) and whether this call
// changed it. Once Run would have returned, Step no longer probes.
func (w *Worker) Step(ctx context.Context, started time.Time) (Result, bool) {
	if w.done {
		return w.reported, false
	}
	now := w.now()
	if now.Before(started.Add(seconds(w.probe.InitialDelaySeconds, 0))) || now.Before(w.next) {
		return w.reported, false
	}
	w.next = now.Add(seconds(w.probe.PeriodSeconds, 10))
	return w.probeOnce(ctx)
}

// probeOnce runs the probe and applies the thresholds: it returns the
// verdict and whether it changed.
func (w *Worker) probeOnce(ctx context.Context) (Result, bool) {
	result, _ := Probe(ctx, w.probe, w.c, w.t)
	if ctx.Err() != nil || result == Unknown {
		return w.reported, false
	}
	if result == w.last {
		w.run++
	} else {
		w.last, w.run = result, 1
	}
	successThreshold := int(max(w.probe.SuccessThreshold, 1))
	failureThreshold := int(max(w.probe.FailureThreshold, 1))
	if w.probe.FailureThreshold == 0 {
		failureThreshold = 3
	}
	if (result == Success && w.run < successThreshold) || (result == Failure && w.run < failureThreshold) {
		return w.reported, false
	}
	if (w.kind == Liveness && result == Failure) || w.kind == Startup {
		w.done = true
	}
	if result == w.reported {
		return w.reported, false
	}
	w.reported = result
	return result, true
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
