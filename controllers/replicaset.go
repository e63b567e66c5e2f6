package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// replicaSetKind is the kind the ReplicaSet controller puts in its pods' controller
// references.
var replicaSetKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// replicaSetController keeps spec.replicas pods running for every ReplicaSet, as
// kube-controller-manager's does: it adopts orphan pods its selector matches and
// releases those it no longer matches, creates missing pods in slow-start batches,
// deletes the least useful surplus pods first, and never creates or deletes again
// before its informer has seen the previous round (expectations). Its status counts
// replicas, fully labeled, ready and available (ready for minReadySeconds) pods.
//
// Events (component "replicaset-controller"): SuccessfulCreate, SuccessfulDelete,
// FailedCreate, FailedDelete.
type replicaSetController struct {
	client kubernetes.Interface
	sets   appslisters.ReplicaSetLister
	pods   corelisters.PodLister
	rec    record.EventRecorder
	exp    *expectations
	queue  *workQueue
	log    *slog.Logger
	now    func() time.Time
}

// newReplicaSetController builds the ReplicaSet controller on the shared ReplicaSet
// and pod informers.
func newReplicaSetController(cc *controllerContext) (controller, error) {
	rsInf := cc.informers.Apps().V1().ReplicaSets()
	podInf := cc.informers.Core().V1().Pods()
	c := &replicaSetController{
		client: cc.client,
		sets:   rsInf.Lister(),
		pods:   podInf.Lister(),
		rec:    cc.recorder("replicaset-controller"),
		exp:    newExpectations(),
		log:    cc.log.With("controller", "replicaset"),
		now:    time.Now,
	}
	c.queue = newWorkQueue("replicaset", cc.log, c.sync)
	if _, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.queue.add,
		UpdateFunc: func(_, cur any) { c.queue.add(cur) },
		DeleteFunc: func(obj any) {
			if key, ok := keyOf(obj); ok {
				c.exp.forget(key)
				c.queue.addKey(key)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// run works the queue with workers until ctx ends.
func (c *replicaSetController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// addPod observes a creation for the pod's ReplicaSet, or wakes the ReplicaSets
// that may adopt an orphan.
func (c *replicaSetController) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		rs := c.resolveRef(pod.Namespace, ref)
		if rs == nil {
			return
		}
		key := pod.Namespace + "/" + rs.Name
		c.exp.created(key)
		if pod.DeletionTimestamp != nil {
			// Seen for the first time already terminating (a restart, or a fast
			// delete): it will never be seen being marked, so count the delete now.
			c.exp.deleted(key, string(pod.UID))
		}
		c.queue.addKey(key)
		return
	}
	if pod.DeletionTimestamp == nil {
		c.enqueueSelecting(pod)
	}
}

// updatePod observes a deletion once a pod is marked for it, follows changes of
// controller, and wakes ReplicaSets whose selection or availability changed.
func (c *replicaSetController) updatePod(old, cur any) {
	oldPod, ok1 := old.(*corev1.Pod)
	curPod, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == curPod.ResourceVersion {
		return
	}
	labelsChanged := !maps.Equal(oldPod.Labels, curPod.Labels)
	if curPod.DeletionTimestamp != nil {
		// A graceful delete sets deletionTimestamp first; the controller counts the
		// pod as gone from then on, so this is when its deletion is observed.
		c.deletePod(curPod)
		if labelsChanged {
			c.deletePod(oldPod)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(oldPod), metav1.GetControllerOfNoCopy(curPod)
	refChanged := !refsEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if rs := c.resolveRef(oldPod.Namespace, oldRef); rs != nil {
			c.queue.addKey(rs.Namespace + "/" + rs.Name)
		}
	}
	if curRef != nil {
		rs := c.resolveRef(curPod.Namespace, curRef)
		if rs == nil {
			return
		}
		key := rs.Namespace + "/" + rs.Name
		c.queue.addKey(key)
		if !podReady(oldPod) && podReady(curPod) && rs.Spec.MinReadySeconds > 0 {
			// Available minReadySeconds from now: look again then.
			c.queue.addAfter(key, time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		c.enqueueSelecting(curPod)
	}
}

// deletePod observes a deletion for the pod's ReplicaSet.
func (c *replicaSetController) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := c.resolveRef(pod.Namespace, ref)
	if rs == nil {
		return
	}
	key := rs.Namespace + "/" + rs.Name
	c.exp.deleted(key, string(pod.UID))
	c.queue.addKey(key)
}

// resolveRef returns the ReplicaSet a controller reference names, if it is the
// same object (same UID) in the cache.
func (c *replicaSetController) resolveRef(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	rs, _ := resolveControllerRef(ns, ref, replicaSetKind,
		func(ns, name string) (*appsv1.ReplicaSet, error) { return c.sets.ReplicaSets(ns).Get(name) })
	return rs
}

// enqueueSelecting queues every ReplicaSet whose selector matches an orphan pod.
func (c *replicaSetController) enqueueSelecting(pod *corev1.Pod) {
	sets, err := c.sets.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, rs := range sets {
		if selects(rs.Spec.Selector, pod.Labels) {
			c.queue.addKey(rs.Namespace + "/" + rs.Name)
		}
	}
}

// refsEqual says whether two controller references name the same owner.
func refsEqual(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID && a.Kind == b.Kind && a.Name == b.Name && a.APIVersion == b.APIVersion
}

// sync reconciles one ReplicaSet: claim its pods, create or delete pods when the
// informer has caught up with the last round, and write status (conditions:
// ReplicaFailure when creating or deleting failed).
func (c *replicaSetController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.sets.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	// Read the expectations before the pods: a pod observed in between is then at
	// worst counted twice as missing on this round, never as present twice.
	needsSync := c.exp.satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || rs.Spec.Selector == nil || selector.Empty() {
		// Validation keeps these out; retrying cannot fix them, and acting on
		// them would create pods without end or claim every pod.
		c.log.Warn("replicaset without a usable selector", "replicaset", key, "err", err)
		return nil
	}
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var active []*corev1.Pod
	for _, p := range all {
		if podActive(p) {
			active = append(active, p)
		}
	}
	pods, err := c.claimPods(ctx, rs, selector, active)
	if err != nil {
		return err
	}
	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, rs, pods)
	}
	status, next := replicaSetStatus(rs, pods, manageErr, c.now())
	if err := c.updateStatus(ctx, rs, status); err != nil {
		return err
	}
	if manageErr == nil && next > 0 {
		// A ready pod becomes available (minReadySeconds) then.
		c.queue.addAfter(key, next)
	}
	return manageErr
}

// claimPods adopts and releases pods for rs and returns those it controls.
func (c *replicaSetController) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	claim := &ownershipClaim[*corev1.Pod]{
		owner:    rs,
		ref:      controllerRef(rs, replicaSetKind),
		selector: sel,
		fresh: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		},
		patch: func(ctx context.Context, p *corev1.Pod, patch []byte) error {
			_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return claim.claim(ctx, pods)
}

// updateStatus writes status when it differs from what rs shows.
func (c *replicaSetController) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) error {
	if replicaSetStatusEqual(rs.Status, status) {
		return nil
	}
	rs = rs.DeepCopy()
	rs.Status = status
	if _, err := c.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return nil
}
