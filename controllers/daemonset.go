package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
)

var daemonSetKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// daemonSetController runs one pod of each DaemonSet on every node that should
// run it (daemonShouldRun), nodes that join later included, and removes the pods
// of nodes that no longer should. Each pod is created pinned to its node by a
// required node affinity on metadata.name and the scheduler binds it, as
// kube-controller-manager does since 1.12. Pods of an older template are replaced
// by the RollingUpdate strategy (maxUnavailable, or maxSurge) or, with OnDelete,
// when the user deletes them; which template a pod runs is told by its
// controller-revision-hash label (daemonSetHash).
//
// Pods are claimed by their controller reference only: pods matching a
// DaemonSet's selector without one are not adopted.
type daemonSetController struct {
	client kubernetes.Interface
	sets   appslisters.DaemonSetLister
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	rec    record.EventRecorder
	log    *slog.Logger
	queue  *workQueue
	exp    *expectations
	// failed backs off the deletion of failed daemon pods per DaemonSet and node,
	// so a node that keeps failing them is not hot-looped.
	failed *flowcontrol.Backoff
	now    func() time.Time
}

func newDaemonSetController(cc *controllerContext) (controller, error) {
	sets := cc.informers.Apps().V1().DaemonSets()
	pods := cc.informers.Core().V1().Pods()
	nodes := cc.informers.Core().V1().Nodes()
	c := &daemonSetController{
		client: cc.client,
		sets:   sets.Lister(),
		pods:   pods.Lister(),
		nodes:  nodes.Lister(),
		rec:    cc.recorder("daemonset-controller"),
		log:    cc.log.With("controller", "daemonset"),
		exp:    newExpectations(),
		failed: flowcontrol.NewBackOff(time.Second, 15*time.Minute),
		now:    time.Now,
	}
	c.queue = newWorkQueue("daemonset", cc.log, c.sync)
	if _, err := sets.Informer().AddEventHandler(c.queue.handler()); err != nil {
		return nil, fmt.Errorf("daemonset informer: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.nodeChanged(nil, obj.(*corev1.Node)) },
		UpdateFunc: func(old, cur any) { c.nodeChanged(old.(*corev1.Node), cur.(*corev1.Node)) },
		DeleteFunc: func(any) { c.queueAll() },
	}); err != nil {
		return nil, fmt.Errorf("node informer: %w", err)
	}
	return c, nil
}

func (c *daemonSetController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// setOf returns the DaemonSet controlling a pod, from the cache, or nil.
func (c *daemonSetController) setOf(p *corev1.Pod) *appsv1.DaemonSet {
	ds, _ := resolveControllerRef(p.Namespace, metav1.GetControllerOfNoCopy(p), daemonSetKind,
		func(ns, name string) (*appsv1.DaemonSet, error) { return c.sets.DaemonSets(ns).Get(name) })
	return ds
}

// addPod observes a creation and queues the pod's DaemonSet.
func (c *daemonSetController) addPod(obj any) {
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp != nil {
		c.deletePod(p)
		return
	}
	if ds := c.setOf(p); ds != nil {
		key, _ := keyOf(ds)
		c.exp.created(key)
		c.queue.addKey(key)
	}
}

// updatePod queues the pod's DaemonSet (and its former one after an ownership
// change); a deletion timestamp counts as the deletion the DaemonSet expected.
func (c *daemonSetController) updatePod(old, cur any) {
	oldPod, curPod := old.(*corev1.Pod), cur.(*corev1.Pod)
	if oldPod.ResourceVersion == curPod.ResourceVersion {
		return
	}
	if curPod.DeletionTimestamp != nil {
		c.deletePod(curPod)
	}
	if !reflect.DeepEqual(metav1.GetControllerOfNoCopy(oldPod), metav1.GetControllerOfNoCopy(curPod)) {
		if ds := c.setOf(oldPod); ds != nil {
			c.queue.add(ds)
		}
	}
	if ds := c.setOf(curPod); ds != nil {
		c.queue.add(ds)
	}
}

// deletePod observes a deletion (or a deletion timestamp) and queues the DaemonSet.
func (c *daemonSetController) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ds := c.setOf(p); ds != nil {
		key, _ := keyOf(ds)
		c.exp.deleted(key, string(p.UID))
		c.queue.addKey(key)
	}
}

// nodeChanged queues the DaemonSets whose placement a node's change may alter.
func (c *daemonSetController) nodeChanged(old, cur *corev1.Node) {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		run, keep := daemonShouldRun(cur, ds)
		if old == nil {
			if run {
				c.queue.add(ds)
			}
			continue
		}
		if oldRun, oldKeep := daemonShouldRun(old, ds); oldRun != run || oldKeep != keep {
			c.queue.add(ds)
		}
	}
}

// queueAll queues every DaemonSet (a node went away).
func (c *daemonSetController) queueAll() {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		c.queue.add(ds)
	}
}

// sync converges one DaemonSet: the pods each node should run (daemonPlan), then
// a rolling update step, then the status.
func (c *daemonSetController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this queue was given
	}
	shared, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get daemonset %s: %w", key, err)
	}
	if shared.DeletionTimestamp != nil {
		return nil // the garbage collector takes its pods
	}
	ds := shared.DeepCopy()
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	// Expectations are read before the pods are listed, so a pod created after
	// the list is never missed: the next sync waits for it.
	satisfied := c.exp.satisfied(key)
	byNode, err := c.podsByNode(ds)
	if err != nil {
		return err
	}
	hash := daemonSetHash(ds)
	now := c.now()
	c.failed.GC() // forget backoffs long over
	var actErr error
	if satisfied {
		plan := c.planNodes(key, ds, nodes, byNode, hash, now)
		if plan.empty() && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
			plan = daemonRollingUpdate(ds, nodes, byNode, hash, now)
		}
		actErr = c.apply(ctx, key, ds, plan, hash)
	}
	return errors.Join(actErr, c.updateStatus(ctx, key, ds, nodes, byNode, hash, now))
}

// podsByNode groups the DaemonSet's pods by the node they are for, leaving out
// finished pods already being deleted.
func (c *daemonSetController) podsByNode(ds *appsv1.DaemonSet) (map[string][]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, nil // validation rejects such selectors
	}
	pods, err := c.pods.Pods(ds.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list pods of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if !ownedBy(p, ds.UID) || (podTerminal(p) && p.DeletionTimestamp != nil) {
			continue
		}
		if node := daemonPodNode(p); node != "" {
			out[node] = append(out[node], p)
		}
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return daemonOlder(list[i], list[j]) })
	}
	return out, nil
}

// daemonOlder orders pods oldest first (by creation, then name).
func daemonOlder(a, b *corev1.Pod) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}
