package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/scheduler"
)

// The scheduler figure's namespaces, scheduler names and node label. The pods go
// to a scheduler of their own name, so that pending pods of other figures (the
// list figure leaves 10,000) are not scheduled with them.
const (
	schedNS          = "bench-scheduler"
	bindNS           = "bench-binding"
	schedName        = "bench-scheduler"
	noScheduler      = "bench-nobody" // the baseline's pods, which nothing schedules
	schedNodeLabel   = "bench.berth.dev/scheduler"
	schedBindWorkers = 64
	// schedTimeout bounds the wait for every pod to be bound.
	schedTimeout = 5 * time.Minute
)

// scheduler measures the scheduler, run in this process against the API server:
// the time from its start (informers listing included) until all of b.sz.pods
// pending pods are bound to b.sz.pods/10 Ready nodes, as pods per second. The
// baseline is the API's binding ceiling: as many bindings of fresh pending pods,
// posted straight to pods/binding with the same number of workers.
func (b *bench) scheduler(ctx context.Context) error {
	n := b.sz.pods
	nodes := max(n/10, 1)
	for _, ns := range []string{schedNS, bindNS} {
		if err := b.createNamespace(ctx, ns); err != nil {
			return err
		}
	}
	defer b.cleanScheduler(context.WithoutCancel(ctx))

	b.logf("scheduler: registering %d Ready nodes", nodes)
	if _, err := parallel(ctx, b.sz.podClients, nodes, func(ctx context.Context, i int) error {
		return b.createReadyNode(ctx, fmt.Sprintf("bench-node-%04d", i))
	}); err != nil {
		return fmt.Errorf("create nodes: %w", err)
	}

	// Baseline: bindings of pending pods, node chosen round robin, nothing else;
	// half before the scheduler runs and half after, so that both see the same
	// machine (other processes may share its CPUs).
	base, err := b.bindBaseline(ctx, 0, n/2, nodes)
	if err != nil {
		return err
	}

	if err := b.createPending(ctx, schedNS, schedName, 0, n); err != nil {
		return err
	}
	bound, err := newBoundWatch(ctx, b, n)
	if err != nil {
		return err
	}
	defer bound.w.Stop()

	var wall, cpu, first time.Duration
	b.logf("scheduler: scheduling %d pods onto %d nodes", n, nodes)
	err = b.profiled("scheduler", func() error {
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		done := make(chan error, 1)
		var err error
		pprof.Do(ctx, pprof.Labels("side", "scheduler"), func(context.Context) {
			var s *scheduler.Scheduler
			s, err = scheduler.New(scheduler.Options{
				Config: b.ts.Config, SchedulerName: schedName, BindWorkers: schedBindWorkers,
				Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err == nil {
				go func() { done <- s.Run(sctx) }()
			}
		})
		if err != nil {
			return fmt.Errorf("start the scheduler: %w", err)
		}
		start, cpu0 := time.Now(), cpuTime()
		err = bound.wait(ctx, start)
		wall, cpu, first = time.Since(start), cpuTime()-cpu0, bound.first
		stop()
		if rerr := <-done; rerr != nil && err == nil {
			err = fmt.Errorf("scheduler: %w", rerr)
		}
		return err
	})
	if err != nil {
		return err
	}
	after, err := b.bindBaseline(ctx, n/2, n-n/2, nodes)
	if err != nil {
		return err
	}
	base = base.plus(after)

	least, most := n, 0
	for _, c := range bound.perNode {
		least, most = min(least, c), max(most, c)
	}
	if len(bound.perNode) < nodes {
		least = 0
	}
	r, br := rate(n, wall), rate(n, base.wall)
	b.logf("scheduler: %d pods bound in %s (%.0f/s); baseline %.0f bindings/s", n, wall.Round(time.Millisecond), r, br)
	b.add("scheduling, pods/s", fmt.Sprintf("%.0f/s", r), fmt.Sprintf("%.0f/s", br), r/br,
		fmt.Sprintf("%d pending pods (100m, 128Mi) onto %d Ready nodes (32 cpu, 128Gi), from the scheduler's start (informer sync included) "+
			"until the last is bound, %d bind workers, pods per node %d–%d; baseline: as many pods/binding POSTs with no scheduling, "+
			"nodes round robin, half before and half after",
			n, nodes, schedBindWorkers, least, most))
	b.add("CPU per pod scheduled", perOp(cpu, n), perOp(base.cpu, n), float64(cpu)/float64(base.cpu),
		"whole process (scheduler, API server, etcd and the bench's watch of the pods); baseline: per binding posted")
	b.add("scheduler start to first binding", ms(first), "—", 0, "informers listing the nodes and pods, then the first placement and binding")
	return nil
}

// bindBaseline creates count pending pods (from number first on) that no
// scheduler handles, binds them straight through pods/binding with
// schedBindWorkers workers, round robin over the nodes, and deletes them again.
func (b *bench) bindBaseline(ctx context.Context, first, count, nodes int) (series, error) {
	if err := b.createPending(ctx, bindNS, noScheduler, first, count); err != nil {
		return series{}, err
	}
	b.logf("scheduler: baseline, %d bindings, %d workers", count, schedBindWorkers)
	binds := b.ts.Client.CoreV1().Pods(bindNS)
	s, err := parallel(ctx, schedBindWorkers, count, func(ctx context.Context, i int) error {
		p := pod(bindNS, first+i)
		return binds.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: bindNS, Name: p.Name},
			Target:     corev1.ObjectReference{Kind: "Node", Name: fmt.Sprintf("bench-node-%04d", (first+i)%nodes)},
		}, metav1.CreateOptions{})
	})
	if err != nil {
		return s, fmt.Errorf("baseline bindings: %w", err)
	}
	// Deleted, so that the scheduler's informer does not list them.
	return s, b.deletePods(ctx, bindNS)
}

// createReadyNode registers a node of 32 cpu, 128Gi and 110 pods, reported Ready.
func (b *bench) createReadyNode(ctx context.Context, name string) error {
	n, err := b.ts.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{corev1.LabelHostname: name, schedNodeLabel: "true"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	now := metav1.Now()
	n.Status = corev1.NodeStatus{Capacity: res, Allocatable: res, Conditions: []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now,
	}}}
	_, err = b.ts.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

// createPending creates n pending pods (list.go's pod, numbered from first on)
// for a scheduler name.
func (b *bench) createPending(ctx context.Context, ns, schedulerName string, first, n int) error {
	b.logf("scheduler: creating %d pending pods in %s", n, ns)
	pods := b.ts.Client.CoreV1().Pods(ns)
	_, err := parallel(ctx, b.sz.podClients, n, func(ctx context.Context, i int) error {
		p := pod(ns, first+i)
		p.Spec.SchedulerName = schedulerName
		_, err := pods.Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("create pending pods in %s: %w", ns, err)
	}
	return nil
}

// deletePods deletes every pod of a namespace at once (no grace period: no kubelet runs them).
func (b *bench) deletePods(ctx context.Context, ns string) error {
	zero := int64(0)
	err := b.ts.Client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("delete the pods of %s: %w", ns, err)
	}
	return nil
}

// cleanScheduler deletes what the figure created but the namespaces, so that
// later figures see neither its pods, nor its nodes, nor its events.
func (b *bench) cleanScheduler(ctx context.Context) {
	for _, ns := range []string{schedNS, bindNS} {
		if err := b.deletePods(ctx, ns); err != nil {
			b.logf("scheduler: cleanup: %v", err)
		}
		if err := b.ts.Client.CoreV1().Events(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			b.logf("scheduler: cleanup: delete the events of %s: %v", ns, err)
		}
	}
	if err := b.ts.Client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: schedNodeLabel}); err != nil {
		b.logf("scheduler: cleanup: delete nodes: %v", err)
	}
}

// boundWatch counts the pods of schedNS as they are bound, through a watch.
type boundWatch struct {
	b       *bench
	n       int
	w       watch.Interface
	node    map[string]string // pod name → node
	perNode map[string]int
	first   time.Duration // from the start to the first binding seen
}

// newBoundWatch starts watching schedNS from now, for n pods.
func newBoundWatch(ctx context.Context, b *bench, n int) (*boundWatch, error) {
	bw := &boundWatch{b: b, n: n, node: map[string]string{}, perNode: map[string]int{}}
	if err := bw.rewatch(ctx); err != nil {
		return nil, err
	}
	return bw, nil
}

// rewatch lists the namespace's pods (counting the bound ones) and watches from there.
func (bw *boundWatch) rewatch(ctx context.Context) error {
	pods := bw.b.ts.Client.CoreV1().Pods(schedNS)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods of %s: %w", schedNS, err)
	}
	for i := range list.Items {
		bw.saw(&list.Items[i], 0)
	}
	bw.w, err = pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return fmt.Errorf("watch pods of %s: %w", schedNS, err)
	}
	return nil
}

// saw counts a pod if it is bound and was not counted yet.
func (bw *boundWatch) saw(p *corev1.Pod, since time.Duration) {
	if p.Spec.NodeName == "" || bw.node[p.Name] != "" {
		return
	}
	if len(bw.node) == 0 {
		bw.first = since
	}
	bw.node[p.Name] = p.Spec.NodeName
	bw.perNode[p.Spec.NodeName]++
}

// wait returns once all n pods are bound, or fails after schedTimeout.
func (bw *boundWatch) wait(ctx context.Context, start time.Time) error {
	timeout := time.After(schedTimeout)
	for len(bw.node) < bw.n {
		select {
		case ev, ok := <-bw.w.ResultChan():
			if !ok { // the server ended the watch: pick up from a fresh list
				if err := bw.rewatch(ctx); err != nil {
					return err
				}
				continue
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod {
				bw.saw(p, time.Since(start))
			}
		case <-timeout:
			return fmt.Errorf("%d of %d pods bound after %s", len(bw.node), bw.n, schedTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
