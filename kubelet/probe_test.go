package kubelet

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// scriptedProber answers probes from a list of results, one per call.
type scriptedProber struct{ results []error }

func (p *scriptedProber) probe(context.Context, *corev1.Container, *corev1.Probe, string, string) error {
	if len(p.results) == 0 {
		return errors.New("script over")
	}
	err := p.results[0]
	p.results = p.results[1:]
	return err
}

func TestRunProbes(t *testing.T) {
	fail := errors.New("refused")
	probe := &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2}
	c := &corev1.Container{Name: "a", LivenessProbe: probe, ReadinessProbe: probe}
	pr := &scriptedProber{results: []error{
		nil, nil, // pass 1: liveness ok, readiness ok
		fail, fail, // pass 2: one failure each: below the threshold
		fail, // pass 3: liveness fails twice: restart
	}}
	cp := &containerProbes{}
	now := t0
	if restart, _ := runProbes(context.Background(), pr, c, cp, "id", "10.0.0.1", t0, now); restart || !cp.ready(c) {
		t.Fatalf("pass 1: restart %v ready %v", restart, cp.ready(c))
	}
	now = now.Add(time.Second)
	if restart, _ := runProbes(context.Background(), pr, c, cp, "id", "10.0.0.1", t0, now); restart || !cp.ready(c) {
		t.Fatalf("pass 2: restart %v ready %v; one failure is below the threshold", restart, cp.ready(c))
	}
	// Not due yet: nothing runs.
	if restart, _ := runProbes(context.Background(), pr, c, cp, "id", "10.0.0.1", t0, now.Add(time.Millisecond)); restart {
		t.Fatal("a probe ran before its period")
	}
	now = now.Add(time.Second)
	if restart, why := runProbes(context.Background(), pr, c, cp, "id", "10.0.0.1", t0, now); !restart || why != "liveness probe failed" {
		t.Fatalf("pass 3: restart %v (%s), want a liveness restart", restart, why)
	}
}

func TestStartupProbeGatesReadiness(t *testing.T) {
	c := &corev1.Container{
		StartupProbe:   &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 3},
		ReadinessProbe: &corev1.Probe{PeriodSeconds: 1},
	}
	pr := &scriptedProber{results: []error{errors.New("not yet"), nil, nil}}
	cp := &containerProbes{}
	runProbes(context.Background(), pr, c, cp, "id", "", t0, t0)
	if cp.started || cp.ready(c) {
		t.Fatal("started before the startup probe succeeded")
	}
	runProbes(context.Background(), pr, c, cp, "id", "", t0, t0.Add(time.Second))
	if !cp.started || !cp.ready(c) {
		t.Fatalf("after startup and readiness success: started %v ready %v", cp.started, cp.ready(c))
	}
}

func TestResolvePort(t *testing.T) {
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for _, tt := range []struct {
		port intstr.IntOrString
		want int
		err  bool
	}{{intstr.FromInt32(9), 9, false}, {intstr.FromString("http"), 8080, false}, {intstr.FromString("grpc"), 0, true}} {
		got, err := resolvePort(tt.port, c)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("resolvePort(%v) = %d, %v", tt.port.String(), got, err)
		}
	}
}
