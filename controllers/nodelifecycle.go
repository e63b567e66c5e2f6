package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// podsByNodeIndex indexes the shared pod informer by spec.nodeName.
const podsByNodeIndex = "nodelifecycle.berth.dev/node"

// nodeLifecycleController watches node heartbeats, as kube-controller-manager's
// node lifecycle and taint-eviction controllers do. Every NodeMonitorPeriod it
// checks each node:
//
//   - a node not heard from (Lease renewal or Ready heartbeat) for
//     NodeMonitorGracePeriod gets its Ready, MemoryPressure, DiskPressure and
//     PIDPressure conditions set Unknown (NodeStatusUnknown), and its pods' Ready
//     condition False;
//   - its taints follow its conditions: unreachable (Ready=Unknown) or not-ready
//     (Ready=False) as NoExecute and NoSchedule, NoSchedule for pressure,
//     network-unavailable and spec.unschedulable; a Ready node carries none;
//   - running pods that do not tolerate a NoExecute taint long enough are
//     deleted once their time is up (PodEvictionTimeout after a node-health
//     taint for pods with the API server's default tolerations), so their owners
//     recreate them elsewhere; finished pods stay, for owners such as Jobs that
//     count them;
//   - pods bound to a node that no longer exists are force-deleted.
//
// It records RegisteredNode, RemovingNode, NodeNotReady and NodeReady events on
// nodes and NodeControllerEviction on the pods it deletes.
type nodeLifecycleController struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseLister
	pods   cache.Indexer // by podsByNodeIndex
	rec    record.EventRecorder
	queue  *workQueue
	log    *slog.Logger

	period, grace, evictionTimeout time.Duration
	now                            func() time.Time

	mu    sync.Mutex // guards known
	known map[string]*nodeMemory
}

// nodeMemory is what the controller remembers of a node between checks.
type nodeMemory struct {
	ready corev1.ConditionStatus // Ready status last seen
	// taintSeen is when a NoExecute taint without timeAdded was first seen, by
	// key and effect.
	taintSeen map[string]time.Time
}

func newNodeLifecycleController(cc *controllerContext) (controller, error) {
	nodes := cc.informers.Core().V1().Nodes()
	pods := cc.informers.Core().V1().Pods().Informer()
	if err := pods.AddIndexers(cache.Indexers{podsByNodeIndex: podNodeName}); err != nil {
		return nil, fmt.Errorf("index pods by node: %w", err)
	}
	c := &nodeLifecycleController{
		client:          cc.client,
		nodes:           nodes.Lister(),
		leases:          cc.informers.Coordination().V1().Leases().Lister(),
		pods:            pods.GetIndexer(),
		rec:             cc.recorder("node-controller"),
		log:             cc.log.With("controller", "nodelifecycle"),
		period:          cc.opts.NodeMonitorPeriod,
		grace:           cc.opts.NodeMonitorGracePeriod,
		evictionTimeout: cc.opts.PodEvictionTimeout,
		now:             time.Now,
		known:           map[string]*nodeMemory{},
	}
	if c.period <= 0 {
		c.period = 5 * time.Second
	}
	c.queue = newWorkQueue("nodelifecycle", cc.log, c.sync)
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.queue.add,
		UpdateFunc: func(_, cur any) { c.queue.add(cur) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if node, ok := obj.(*corev1.Node); ok {
				c.rec.Eventf(node, corev1.EventTypeNormal, "RemovingNode", "Node %s event: Removing Node %s from Controller", node.Name, node.Name)
				c.queue.addKey(node.Name) // its pods are collected
			}
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// podNodeName indexes a pod by the node it is bound to.
func podNodeName(obj any) ([]string, error) {
	if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
		return []string{pod.Spec.NodeName}, nil
	}
	return nil, nil
}

// run checks every node each monitor period until ctx ends.
func (c *nodeLifecycleController) run(ctx context.Context, workers int) {
	go func() {
		t := time.NewTicker(c.period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.enqueueAll()
			}
		}
	}()
	c.queue.run(ctx, workers)
}

// enqueueAll queues every node, and the names of missing nodes pods are bound to.
func (c *nodeLifecycleController) enqueueAll() {
	nodes, _ := c.nodes.List(labels.Everything())
	for _, n := range nodes {
		c.queue.addKey(n.Name)
	}
	for _, name := range c.pods.ListIndexFuncValues(podsByNodeIndex) {
		if _, err := c.nodes.Get(name); apierrors.IsNotFound(err) {
			c.queue.addKey(name)
		}
	}
}

// sync checks one node: its health, events, taints, and the pods it must give up.
func (c *nodeLifecycleController) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.known, name)
		c.mu.Unlock()
		return c.collectOrphans(ctx, name)
	}
	if err != nil {
		return err
	}
	now := c.now()
	if node, err = c.checkHealth(ctx, node, now); err != nil {
		return err
	}
	c.recordReadiness(node)
	if node, err = c.syncTaints(ctx, node, now); err != nil {
		return err
	}
	pods := c.podsOn(name)
	if readyStatus(node) == corev1.ConditionUnknown {
		if err := c.markPodsNotReady(ctx, pods); err != nil {
			return err
		}
	}
	return c.evictPods(ctx, node, pods, now)
}

// checkHealth marks the node's conditions Unknown when its kubelet was not heard
// from for the grace period; it returns the node as stored.
func (c *nodeLifecycleController) checkHealth(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	lease, err := c.leases.Leases(corev1.NamespaceNodeLease).Get(node.Name)
	if err != nil {
		lease = nil
	}
	if now.Sub(lastHeartbeat(node, lease)) <= c.grace {
		return node, nil
	}
	// The cache may be behind a busy API server: ask it before declaring the node lost.
	live, err := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		lease = live
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("get lease of node %s: %w", node.Name, err)
	}
	last := lastHeartbeat(node, lease)
	if now.Sub(last) <= c.grace {
		return node, nil
	}
	conds, changed := markConditionsUnknown(node.Status.Conditions, node.CreationTimestamp, metav1.NewTime(now))
	if !changed {
		return node, nil
	}
	node = node.DeepCopy()
	node.Status.Conditions = conds
	updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("mark node %s status unknown: %w", node.Name, err)
	}
	c.log.Info("node stopped posting status", "node", node.Name, "lastHeartbeat", last)
	return updated, nil
}

// recordReadiness records RegisteredNode the first time a node is seen, and
// NodeNotReady or NodeReady when its Ready condition leaves or returns to True.
func (c *nodeLifecycleController) recordReadiness(node *corev1.Node) {
	status := readyStatus(node)
	c.mu.Lock()
	m, seen := c.known[node.Name]
	if !seen {
		m = &nodeMemory{taintSeen: map[string]time.Time{}}
		c.known[node.Name] = m
	}
	prev := m.ready
	m.ready = status
	c.mu.Unlock()
	switch {
	case !seen:
		c.rec.Eventf(node, corev1.EventTypeNormal, "RegisteredNode", "Node %s event: Registered Node %s in Controller", node.Name, node.Name)
	case prev == corev1.ConditionTrue && status != corev1.ConditionTrue:
		c.rec.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
	case prev != "" && prev != corev1.ConditionTrue && status == corev1.ConditionTrue:
		c.rec.Eventf(node, corev1.EventTypeNormal, "NodeReady", "Node %s status is now: NodeReady", node.Name)
	}
}

// syncTaints makes the node's managed taints match its conditions; it returns the
// node as stored.
func (c *nodeLifecycleController) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	taints, changed := reconcileTaints(node.Spec.Taints, healthTaints(node), metav1.NewTime(now))
	if !changed {
		return node, nil
	}
	node = node.DeepCopy()
	node.Spec.Taints = taints
	updated, err := c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("taint node %s: %w", node.Name, err)
	}
	return updated, nil
}

// podsOn lists the pods bound to a node.
func (c *nodeLifecycleController) podsOn(node string) []*corev1.Pod {
	objs, _ := c.pods.ByIndex(podsByNodeIndex, node)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		if pod, ok := obj.(*corev1.Pod); ok {
			out = append(out, pod)
		}
	}
	return out
}

// evictPods deletes the running pods whose time on a node with NoExecute taints
// is up, and checks the node again when the next one's time comes.
func (c *nodeLifecycleController) evictPods(ctx context.Context, node *corev1.Node, pods []*corev1.Pod, now time.Time) error {
	var noExec []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			noExec = append(noExec, t)
		}
	}
	seen := c.noteTaints(node.Name, noExec, now)
	if len(noExec) == 0 {
		return nil
	}
	since := func(t corev1.Taint) time.Time {
		if t.TimeAdded != nil {
			return t.TimeAdded.Time
		}
		return seen[t.Key+":"+string(t.Effect)]
	}
	var next time.Time
	var errs []error
	for _, pod := range pods {
		if !podActive(pod) {
			continue
		}
		deadline, ok := evictionDeadline(pod, noExec, c.evictionTimeout, since)
		switch {
		case !ok:
		case deadline.After(now):
			if next.IsZero() || deadline.Before(next) {
				next = deadline
			}
		default:
			if err := c.evictPod(ctx, pod, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !next.IsZero() {
		c.queue.addAfter(node.Name, next.Sub(now))
	}
	return errors.Join(errs...)
}

// noteTaints remembers when each NoExecute taint without timeAdded was first seen
// on a node, forgets those gone, and returns a copy of what it remembers.
func (c *nodeLifecycleController) noteTaints(node string, taints []corev1.Taint, now time.Time) map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.known[node]
	if m == nil {
		m = &nodeMemory{taintSeen: map[string]time.Time{}}
		c.known[node] = m
	}
	present := map[string]bool{}
	for _, t := range taints {
		if t.TimeAdded != nil {
			continue
		}
		k := t.Key + ":" + string(t.Effect)
		present[k] = true
		if _, ok := m.taintSeen[k]; !ok {
			m.taintSeen[k] = now
		}
	}
	out := map[string]time.Time{}
	for k, at := range m.taintSeen {
		if !present[k] {
			delete(m.taintSeen, k)
			continue
		}
		out[k] = at
	}
	return out
}

// collectOrphans force-deletes the pods still bound to a node that is gone. The
// API server is asked first, in case the cache has not seen a new node yet.
func (c *nodeLifecycleController) collectOrphans(ctx context.Context, name string) error {
	pods := c.podsOn(name)
	if len(pods) == 0 {
		return nil
	}
	if _, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get node %s: %w", name, err)
	}
	var errs []error
	for _, pod := range pods {
		if err := c.evictPod(ctx, pod, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
