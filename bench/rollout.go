package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/test/hollow"
)

// rollout measures the time from creating a Deployment to all of its replicas Ready
// on hollow nodes, with the scheduler and every controller running in this
// process, and the process's memory at that size. The baseline is the API's write
// floor for the same pods: each pod created, bound and reported Running by direct
// calls (the three writes the controllers, the scheduler and the kubelet make), with
// the same parallelism the control plane uses, before the control plane starts.
func (b *bench) rollout(ctx context.Context) error {
	nodes, replicas := 1000, 10000
	if b.sz.pods < 10000 { // quick run
		nodes, replicas = 100, 1000
	}
	const ns, baseNS = "bench-rollout", "bench-rollout-floor"
	for _, n := range []string{ns, baseNS} {
		if err := b.createNamespace(ctx, n); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b.logf("rollout: baseline, %d pods created, bound and set Running by 64 clients", replicas)
	floor, err := b.writeFloor(ctx, baseNS, replicas)
	if err != nil {
		return fmt.Errorf("write floor: %w", err)
	}
	zero := int64(0)
	if err := b.ts.Client.CoreV1().Pods(baseNS).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("clean up the floor's pods: %w", err)
	}

	b.logf("rollout: %d hollow nodes", nodes)
	fleet := hollow.NewFleet(b.ts.Client)
	if _, err := parallel(ctx, 32, nodes, func(ctx context.Context, i int) error {
		_, err := fleet.Add(ctx, hollow.Options{Name: fmt.Sprintf("hollow-%04d", i), Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
			corev1.ResourcePods: resource.MustParse("110"),
		}})
		return err
	}); err != nil {
		return err
	}
	errs := make(chan error, 3)
	pprof.Do(ctx, pprof.Labels("side", "control"), func(ctx context.Context) {
		sched, err := scheduler.New(scheduler.Options{Config: b.ts.Config, Logger: quietLogger()})
		if err != nil {
			errs <- err
			return
		}
		mgr, err := controllers.New(controllers.Options{Config: b.ts.Config, Logger: quietLogger()})
		if err != nil {
			errs <- err
			return
		}
		go func() { errs <- sched.Run(ctx) }()
		go func() { errs <- mgr.Run(ctx) }()
		go func() { errs <- fleet.Run(ctx) }()
	})
	select {
	case err := <-errs:
		return err
	case <-time.After(2 * time.Second): // caches synced
	}
	heap0, rss0 := memNow()

	b.logf("rollout: Deployment of %d replicas", replicas)
	var took, scheduled time.Duration
	if err := b.profiled("rollout", func() error {
		took, scheduled, err = b.deployAndWait(ctx, ns, replicas)
		return err
	}); err != nil {
		return err
	}
	heap1, rss1 := memNow()
	b.add(fmt.Sprintf("Deployment of %d replicas to all Ready (%d hollow nodes)", replicas, nodes),
		fmt.Sprintf("%.1f s (%.0f pods/s)", took.Seconds(), rate(replicas, took)),
		fmt.Sprintf("%.1f s (%.0f pods/s)", floor.wall.Seconds(), rate(replicas, floor.wall)),
		took.Seconds()/floor.wall.Seconds(),
		fmt.Sprintf("all bound after %.1f s; baseline: the same pods created, bound and set Running by 64 direct clients (3 writes each), no control plane", scheduled.Seconds()))
	b.add(fmt.Sprintf("memory with %d pods on %d nodes", replicas, nodes),
		fmt.Sprintf("heap %s, RSS %s", mb(int64(heap1)), mb(rss1)),
		fmt.Sprintf("heap %s, RSS %s", mb(int64(heap0)), mb(rss0)), float64(heap1)/float64(heap0),
		"whole process: API server, embedded etcd, scheduler, controllers, the hollow fleet's pod cache and the bench; baseline: the same with the nodes and no pods")

	cancel()
	for range 3 {
		<-errs
	}
	return nil
}

// deployAndWait creates a Deployment and waits until all its replicas are Ready,
// returning how long that took and when the last pod was bound.
func (b *bench) deployAndWait(ctx context.Context, ns string, replicas int) (took, scheduled time.Duration, err error) {
	labels := map[string]string{"app": "rollout"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "rollout", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "berth.dev/hello:latest",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
					}},
				}}},
			},
		},
	}
	start := time.Now()
	if _, err := b.ts.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		cur, err := b.ts.Client.AppsV1().Deployments(ns).Get(ctx, "rollout", metav1.GetOptions{})
		if err != nil {
			return 0, 0, err
		}
		if scheduled == 0 {
			pending, err := b.ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "").String(), Limit: 1})
			if err == nil && len(pending.Items) == 0 && cur.Status.Replicas == int32(replicas) {
				scheduled = time.Since(start)
			}
		}
		if cur.Status.ReadyReplicas == int32(replicas) && cur.Status.UpdatedReplicas == int32(replicas) {
			if scheduled == 0 {
				scheduled = time.Since(start)
			}
			return time.Since(start), scheduled, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("deployment not ready in 10 minutes")
}

// writeFloor creates n pods, binds each to a node and reports it Running and Ready,
// with 64 clients: the API writes a rollout of n pods needs at the least.
func (b *bench) writeFloor(ctx context.Context, ns string, n int) (series, error) {
	c := b.ts.Client.CoreV1()
	return parallel(ctx, 64, n, func(ctx context.Context, i int) error {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "floor-" + strconv.Itoa(i), Namespace: ns, Labels: map[string]string{"app": "floor"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "berth.dev/hello:latest"}}},
		}
		p, err := c.Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if err := c.Pods(ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns},
			Target:     corev1.ObjectReference{Kind: "Node", Name: "floor-node"},
		}, metav1.CreateOptions{}); err != nil {
			return err
		}
		p.Spec.NodeName = "floor-node"
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.ResourceVersion = ""
		_, err = c.Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

// memNow is the Go heap in use after a collection, and the process's resident set.
func memNow() (heap uint64, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				rss = kb * 1000
			}
		}
	}
	return ms.HeapInuse, rss
}

// quietLogger drops the control plane's logs, which would drown the figures.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
