package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// endpointSliceController keeps, for every Service with a selector, EndpointSlices
// (discovery.k8s.io/v1, IPv4) listing the pods it selects, as
// kube-controller-manager's endpointslice controller does: one endpoint per pod
// with an address, with its ready, serving and terminating conditions, node, zone
// and a reference to the pod; ports resolved per pod (a named targetPort is the
// pod's container port of that name, so pods that resolve it differently are in
// different slices); at most endpointSliceMaxEndpoints endpoints per slice,
// changed as little as possible (planEndpointSlices). Slices are labelled
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, and
// controlled by their Service; they go when it goes. Services without a selector
// and ExternalName Services are left alone.
type endpointSliceController struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	slices   discoverylisters.EndpointSliceLister
	nodes    corelisters.NodeLister
	rec      record.EventRecorder
	log      *slog.Logger
	queue    *workQueue // Service keys
	writes   *ownWrites // slice writes not yet seen, per Service key
}

func newEndpointSliceController(cc *controllerContext) (controller, error) {
	services := cc.informers.Core().V1().Services()
	pods := cc.informers.Core().V1().Pods()
	slices := cc.informers.Discovery().V1().EndpointSlices()
	nodes := cc.informers.Core().V1().Nodes()
	c := &endpointSliceController{
		client:   cc.client,
		services: services.Lister(),
		pods:     pods.Lister(),
		slices:   slices.Lister(),
		nodes:    nodes.Lister(),
		rec:      cc.recorder("endpointslice-controller"),
		log:      cc.log.With("controller", "endpointslice"),
		writes:   newOwnWrites(),
	}
	c.queue = newWorkQueue("endpointslice", cc.log, c.sync)
	if _, err := services.Informer().AddEventHandler(c.queue.handler()); err != nil {
		return nil, fmt.Errorf("service informer: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.queueServicesOf(obj.(*corev1.Pod)) },
		UpdateFunc: c.updatePod,
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				c.queueServicesOf(p)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	if _, err := slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.sliceChanged(obj, false) },
		UpdateFunc: func(_, cur any) { c.sliceChanged(cur, false) },
		DeleteFunc: func(obj any) { c.sliceChanged(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("endpointslice informer: %w", err)
	}
	return c, nil
}

func (c *endpointSliceController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// queueServicesOf queues the Services whose selector matches the pod's labels.
func (c *endpointSliceController) queueServicesOf(p *corev1.Pod) {
	for _, key := range c.servicesSelecting(p.Namespace, p.Labels) {
		c.queue.addKey(key)
	}
}

// servicesSelecting lists the keys of a namespace's Services whose selector
// matches the labels.
func (c *endpointSliceController) servicesSelecting(ns string, l map[string]string) []string {
	svcs, err := c.services.Services(ns).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range svcs {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(l)) {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	}
	return out
}

// updatePod queues the Services of the pod's old and new labels, when something an
// endpoint shows changed.
func (c *endpointSliceController) updatePod(old, cur any) {
	o, p := old.(*corev1.Pod), cur.(*corev1.Pod)
	if !endpointChanged(o, p) {
		return
	}
	c.queueServicesOf(p)
	if !maps.Equal(o.Labels, p.Labels) {
		c.queueServicesOf(o)
	}
}

// endpointChanged says whether a pod update can change its endpoint.
func endpointChanged(o, p *corev1.Pod) bool {
	return !maps.Equal(o.Labels, p.Labels) || podIPv4(o) != podIPv4(p) || podReady(o) != podReady(p) ||
		(o.DeletionTimestamp == nil) != (p.DeletionTimestamp == nil) || podTerminal(o) != podTerminal(p) ||
		o.Spec.NodeName != p.Spec.NodeName || o.Spec.Hostname != p.Spec.Hostname || o.Spec.Subdomain != p.Spec.Subdomain
}

// sliceChanged queues the Service of one of this controller's slices, so a slice
// changed or deleted by someone else is put back.
func (c *endpointSliceController) sliceChanged(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelManagedBy] != endpointSliceManagedBy || s.Labels[discoveryv1.LabelServiceName] == "" {
		return
	}
	key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
	if deleted {
		c.writes.observedDelete(key, s.Name)
	}
	c.queue.addKey(key)
}

// slicesOf lists this controller's slices of a Service.
func (c *endpointSliceController) slicesOf(ns, svc string) ([]*discoveryv1.EndpointSlice, error) {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: endpointSliceManagedBy})
	slices, err := c.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list endpointslices of service %s/%s: %w", ns, svc, err)
	}
	return slices, nil
}

// zoneOf is a node's topology.kubernetes.io/zone label, or "".
func (c *endpointSliceController) zoneOf(node string) string {
	if node == "" {
		return ""
	}
	n, err := c.nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[corev1.LabelTopologyZone]
}

// sync converges the slices of one Service with the pods it selects.
func (c *endpointSliceController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this queue was given
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.deleteSlices(ctx, key, ns, name)
	}
	if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 || svc.DeletionTimestamp != nil {
		return nil // not ours to fill
	}
	if !c.writes.caughtUp(key, func(name string) (metav1.Object, bool) {
		s, err := c.slices.EndpointSlices(ns).Get(name)
		return s, err == nil
	}) {
		c.queue.addAfter(key, time.Second) // the informer has not shown our last writes yet
		return nil
	}
	existing, err := c.slicesOf(ns, name)
	if err != nil {
		return err
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("list pods of service %s: %w", key, err)
	}
	plan := planEndpointSlices(svc, existing, desiredEndpoints(svc, pods, c.zoneOf), endpointSliceMaxEndpoints)
	if err := c.apply(ctx, key, plan); err != nil {
		// Conflicts, AlreadyExists and NotFound mean the informer's copy of
		// the slices is behind: the retry sees the news. Kubernetes' controller
		// records no event for such stale-cache errors either.
		stale := apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)
		if !stale && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.rec.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s: %v", key, err)
		}
		return err
	}
	return nil
}

// apply writes a plan: creations first, then updates, then deletions, so that an
// endpoint moving between slices is never missing from all of them.
func (c *endpointSliceController) apply(ctx context.Context, key string, plan slicePlan) error {
	var errs []error
	for _, s := range plan.create {
		created, err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("create endpointslice for service %s: %w", key, err))
			continue
		}
		c.writes.wrote(key, created)
	}
	for _, s := range plan.update {
		updated, err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("update endpointslice %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		c.writes.wrote(key, updated)
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // keep what would be deleted until the rest is written
	}
	for _, s := range plan.delete {
		if err := c.deleteSlice(ctx, key, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteSlices deletes the slices of a Service that is gone (the garbage collector
// would too, through their owner reference).
func (c *endpointSliceController) deleteSlices(ctx context.Context, key, ns, name string) error {
	slices, err := c.slicesOf(ns, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range slices {
		if err := c.deleteSlice(ctx, key, s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		c.writes.forget(key)
	}
	return errors.Join(errs...)
}

// deleteSlice deletes one slice (of this UID); one already gone is not an error.
func (c *endpointSliceController) deleteSlice(ctx context.Context, key string, s *discoveryv1.EndpointSlice) error {
	err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete endpointslice %s/%s: %w", s.Namespace, s.Name, err)
	}
	c.writes.deleted(key, s.Name)
	return nil
}
