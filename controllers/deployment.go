package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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

// deploymentKind is the kind the Deployment controller puts in its ReplicaSets'
// controller references.
var deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// deploymentController rolls Deployments out through ReplicaSets, as
// kube-controller-manager's does. Each pod template gets its own ReplicaSet, named
// <deployment>-<hash of the template>, whose selector and pod labels carry
// pod-template-hash so that revisions never share pods; the revision annotation
// orders them, and going back to an old template reuses its ReplicaSet under the
// next revision number. A RollingUpdate scales the new ReplicaSet up and the old ones
// down within maxSurge and maxUnavailable; Recreate scales the old ones to zero and
// waits for their pods to be gone before scaling the new one up. A change of
// replicas in the middle of a rollout (or while paused) is spread over the
// ReplicaSets in proportion to their sizes.
//
// Conditions: Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
// ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
// DeploymentPaused, DeploymentResumed, ReplicaSetCreateError), Available
// (MinimumReplicasAvailable, MinimumReplicasUnavailable) and ReplicaFailure (copied
// from a ReplicaSet). Events (component "deployment-controller"):
// ScalingReplicaSet, ReplicaSetCreateError, SelectingAll.
type deploymentController struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	sets        appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	rec         record.EventRecorder
	queue       *workQueue
	log         *slog.Logger
	now         func() time.Time
}

// newDeploymentController builds the Deployment controller on the shared
// Deployment, ReplicaSet and pod informers.
func newDeploymentController(cc *controllerContext) (controller, error) {
	dInf := cc.informers.Apps().V1().Deployments()
	rsInf := cc.informers.Apps().V1().ReplicaSets()
	podInf := cc.informers.Core().V1().Pods()
	c := &deploymentController{
		client:      cc.client,
		deployments: dInf.Lister(),
		sets:        rsInf.Lister(),
		pods:        podInf.Lister(),
		rec:         cc.recorder("deployment-controller"),
		log:         cc.log.With("controller", "deployment"),
		now:         time.Now,
	}
	c.queue = newWorkQueue("deployment", cc.log, c.sync)
	if _, err := dInf.Informer().AddEventHandler(c.queue.handler()); err != nil {
		return nil, err
	}
	if _, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addReplicaSet,
		UpdateFunc: c.updateReplicaSet,
		DeleteFunc: c.deleteReplicaSet,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// run works the queue with workers until ctx ends.
func (c *deploymentController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// addReplicaSet wakes the ReplicaSet's Deployment, or those that may adopt it.
func (c *deploymentController) addReplicaSet(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if rs.DeletionTimestamp != nil {
		c.deleteReplicaSet(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolveRef(rs.Namespace, ref); d != nil {
			c.queue.add(d)
		}
		return
	}
	c.enqueueSelecting(rs)
}

// updateReplicaSet wakes the Deployments a ReplicaSet change matters to: its old
// and new controller, or those that may adopt it.
func (c *deploymentController) updateReplicaSet(old, cur any) {
	oldRS, ok1 := old.(*appsv1.ReplicaSet)
	curRS, ok2 := cur.(*appsv1.ReplicaSet)
	if !ok1 || !ok2 || oldRS.ResourceVersion == curRS.ResourceVersion {
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(oldRS), metav1.GetControllerOfNoCopy(curRS)
	refChanged := !refsEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if d := c.resolveRef(oldRS.Namespace, oldRef); d != nil {
			c.queue.add(d)
		}
	}
	if curRef != nil {
		if d := c.resolveRef(curRS.Namespace, curRef); d != nil {
			c.queue.add(d)
		}
		return
	}
	if refChanged || !maps.Equal(oldRS.Labels, curRS.Labels) {
		c.enqueueSelecting(curRS)
	}
}

// deleteReplicaSet wakes the ReplicaSet's Deployment.
func (c *deploymentController) deleteReplicaSet(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolveRef(rs.Namespace, ref); d != nil {
			c.queue.add(d)
		}
	}
}

// deletePod wakes a Recreate Deployment when one of its old pods is gone: the new
// ReplicaSet is scaled up only once none is left.
func (c *deploymentController) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	rs, ok := resolveControllerRef(pod.Namespace, metav1.GetControllerOfNoCopy(pod), replicaSetKind,
		func(ns, name string) (*appsv1.ReplicaSet, error) { return c.sets.ReplicaSets(ns).Get(name) })
	if !ok {
		return
	}
	if dref := metav1.GetControllerOfNoCopy(rs); dref != nil {
		if d := c.resolveRef(rs.Namespace, dref); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			c.queue.add(d)
		}
	}
}

// resolveRef returns the Deployment a controller reference names, if it is the
// same object (same UID) in the cache.
func (c *deploymentController) resolveRef(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	d, _ := resolveControllerRef(ns, ref, deploymentKind,
		func(ns, name string) (*appsv1.Deployment, error) { return c.deployments.Deployments(ns).Get(name) })
	return d
}

// enqueueSelecting queues every Deployment whose selector matches an orphan
// ReplicaSet.
func (c *deploymentController) enqueueSelecting(rs *appsv1.ReplicaSet) {
	list, err := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range list {
		if selects(d.Spec.Selector, rs.Labels) {
			c.queue.add(d)
		}
	}
}

// sync reconciles one Deployment. In order of precedence: a deleting Deployment
// only has its status written; a paused one or one whose replicas changed is
// scaled (proportionally) without rolling out; otherwise the strategy rolls out.
func (c *deploymentController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	if d.Spec.Selector == nil || equality.Semantic.DeepEqual(*d.Spec.Selector, metav1.LabelSelector{}) {
		c.rec.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return c.writeStatus(ctx, d)
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return c.syncScale(ctx, d, rsList)
	}
	if isScalingEvent(d, rsList) {
		return c.syncScale(ctx, d, rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return c.rolloutRecreate(ctx, d, rsList, c.podsByReplicaSet(d, rsList))
	case appsv1.RollingUpdateDeploymentStrategyType:
		return c.rolloutRolling(ctx, d, rsList)
	}
	return nil // validation admits no other strategy
}

// claimReplicaSets adopts and releases ReplicaSets for d and returns those it
// controls.
func (c *deploymentController) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has an invalid selector: %w", d.Namespace, d.Name, err)
	}
	all, err := c.sets.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claim := &ownershipClaim[*appsv1.ReplicaSet]{
		owner:    d,
		ref:      controllerRef(d, deploymentKind),
		selector: sel,
		fresh: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		},
		patch: func(ctx context.Context, rs *appsv1.ReplicaSet, patch []byte) error {
			_, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return claim.claim(ctx, all)
}

// podsByReplicaSet groups the pods of d's ReplicaSets by ReplicaSet UID, the
// terminating ones included (Recreate waits for those too).
func (c *deploymentController) podsByReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) map[types.UID][]*corev1.Pod {
	out := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		out[rs.UID] = nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return out
	}
	pods, err := c.pods.Pods(d.Namespace).List(sel)
	if err != nil {
		return out
	}
	for _, p := range pods {
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
			if _, ok := out[ref.UID]; ok {
				out[ref.UID] = append(out[ref.UID], p)
			}
		}
	}
	return out
}

// writeStatus writes d's status and takes the server's copy back into d, so that
// later writes of the same sync do not conflict with this one.
func (c *deploymentController) writeStatus(ctx context.Context, d *appsv1.Deployment) error {
	out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	*d = *out
	return nil
}
