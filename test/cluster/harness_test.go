package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/test/hollow"
)

// cluster is a control plane with hollow nodes, for one test.
type cluster struct {
	*testserver.Server
	fleet *hollow.Fleet
	ctx   context.Context
}

// testPeriods are the node-health periods tests run with by default: steady, so that
// a heartbeat delayed by a loaded machine (two cores, -race, tests in parallel) never
// makes a node look lost. Tests of node loss use lossyNodes.
var testPeriods = controllers.Options{
	NodeMonitorPeriod:      200 * time.Millisecond,
	NodeMonitorGracePeriod: time.Minute,
	PodEvictionTimeout:     time.Minute,
}

// lossyNodes are periods short enough that a silent node's pods move within seconds.
var lossyNodes = controllers.Options{NodeMonitorGracePeriod: 4 * time.Second, PodEvictionTimeout: 2 * time.Second}

// steadyNodes asks for the default, steady periods (for tests that say so).
var steadyNodes = controllers.Options{}

// startCluster starts an API server, the scheduler, the controllers (opts: zero
// fields take testPeriods' values, then the defaults) and a hollow fleet with no
// nodes; everything stops when the test ends.
func startCluster(t *testing.T, opts controllers.Options) *cluster {
	t.Helper()
	ts := testserver.Start(t, apiserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		quiet = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.NodeMonitorPeriod == 0 {
		opts.NodeMonitorPeriod = testPeriods.NodeMonitorPeriod
	}
	if opts.NodeMonitorGracePeriod == 0 {
		opts.NodeMonitorGracePeriod = testPeriods.NodeMonitorGracePeriod
	}
	if opts.PodEvictionTimeout == 0 {
		opts.PodEvictionTimeout = testPeriods.PodEvictionTimeout
	}
	if opts.JobPodFailureBackoff == 0 {
		// A failed pod's replacement waits 1s, 2s, ... instead of 10s, 20s, ...: a
		// backoff limit test then takes seconds.
		opts.JobPodFailureBackoff = time.Second
	}
	opts.Config, opts.Logger = ts.Config, quiet
	mgr, err := controllers.New(opts)
	if err != nil {
		t.Fatalf("controllers: %v", err)
	}
	sched, err := scheduler.New(scheduler.Options{Config: ts.Config, Logger: quiet})
	if err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	fleet := hollow.NewFleet(ts.Client)
	for _, run := range []func(context.Context) error{mgr.Run, sched.Run, fleet.Run} {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := run(ctx); err != nil {
				t.Errorf("component stopped: %v", err)
			}
		}()
	}
	return &cluster{Server: ts, fleet: fleet, ctx: ctx}
}

// testWriter sends component logs to the test's log (with -v).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// addNode adds a hollow node with test-friendly heartbeats (every 200ms, a 2s lease).
func (c *cluster) addNode(t *testing.T, o hollow.Options) *hollow.Node {
	t.Helper()
	if o.RenewInterval == 0 {
		o.RenewInterval = 200 * time.Millisecond
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 2 * time.Second
	}
	n, err := c.fleet.Add(c.ctx, o)
	if err != nil {
		t.Fatalf("add node: %v", err)
	}
	return n
}

// addNodes adds count hollow nodes named node-0, node-1, ... like o.
func (c *cluster) addNodes(t *testing.T, count int, o hollow.Options) []*hollow.Node {
	t.Helper()
	var out []*hollow.Node
	for i := range count {
		o.Name = fmt.Sprintf("node-%d", i)
		out = append(out, c.addNode(t, o))
	}
	return out
}

// namespace creates a namespace for the test.
func (c *cluster) namespace(t *testing.T) string {
	t.Helper()
	name := "t-" + utilrand.String(8)
	_, err := c.Client.CoreV1().Namespaces().Create(testCtx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

// testCtx returns a context that ends with the test (or after two minutes).
func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond until it returns true, failing the test after timeout with
// what and the last detail cond reported.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last: %s)", timeout, what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// podsOf lists the pods of a namespace matching a label selector.
func (c *cluster) podsOf(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	list, err := c.Client.CoreV1().Pods(ns).List(testCtx(t), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	return list.Items
}

// podReady says whether a pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
