package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
)

// namespacePollInterval is how soon a terminating namespace is looked at again
// while content remains (pod deletions requeue it sooner).
const namespacePollInterval = time.Second

// resourcesCacheTTL is how long a discovery result is reused.
const resourcesCacheTTL = 30 * time.Second

// namespaceController empties namespaces being deleted, as kube-controller-manager's
// namespace controller does. The API server turns a deleted namespace Terminating
// and keeps it while spec.finalizers holds "kubernetes"; the controller deletes
// every namespaced object in it (each resource discovery lists, through the
// metadata client), reports progress in the namespace's deletion conditions
// (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining,
// NamespaceFinalizersRemaining), waits until everything is gone (pods finish
// their grace periods), and then removes the finalizer through /finalize, after
// which the API server deletes the namespace.
type namespaceController struct {
	client     kubernetes.Interface
	metadata   metadata.Interface
	discovery  discovery.DiscoveryInterface
	namespaces corelisters.NamespaceLister
	queue      *workQueue
	log        *slog.Logger
	now        func() time.Time

	mu        sync.Mutex // guards the fields below
	resources []apiResource
	found     time.Time // when resources were discovered
}

func newNamespaceController(cc *controllerContext) (controller, error) {
	meta, err := metadataClientFor(cc)
	if err != nil {
		return nil, err
	}
	return newNamespaceControllerWith(cc, meta, cc.client.Discovery())
}

// newNamespaceControllerWith builds the controller on the given metadata and
// discovery clients (fakes in unit tests).
func newNamespaceControllerWith(cc *controllerContext, meta metadata.Interface, disc discovery.DiscoveryInterface) (*namespaceController, error) {
	ns := cc.informers.Core().V1().Namespaces()
	c := &namespaceController{
		client: cc.client, metadata: meta, discovery: disc, namespaces: ns.Lister(),
		log: cc.log.With("controller", "namespace"), now: time.Now,
	}
	c.queue = newWorkQueue("namespace", cc.log, c.sync)
	enqueue := func(obj any) {
		if n, ok := obj.(*corev1.Namespace); ok && n.DeletionTimestamp != nil {
			c.queue.addKey(n.Name)
		}
	}
	if _, err := ns.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
	}); err != nil {
		return nil, err
	}
	// A pod leaving a terminating namespace may be the last thing it waits for.
	if _, err := cc.informers.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				if n, err := c.namespaces.Get(pod.Namespace); err == nil && n.DeletionTimestamp != nil {
					c.queue.addKey(n.Name)
				}
			}
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *namespaceController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// sync drives the deletion of one namespace: delete its content, write the
// conditions, and finalize it once empty.
func (c *namespaceController) sync(ctx context.Context, name string) error {
	cached, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) || (err == nil && cached.DeletionTimestamp == nil) {
		return nil
	}
	if err != nil {
		return err
	}
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return nil
	}
	res := c.deleteContent(ctx, name)
	if err := c.writeStatus(ctx, ns, res); err != nil {
		return err
	}
	if err := res.err(); err != nil {
		return err
	}
	if res.remaining() {
		wait := namespacePollInterval
		if res.estimate > 0 && res.estimate < wait {
			wait = res.estimate
		}
		c.queue.addAfter(name, wait)
		return nil
	}
	return c.finalize(ctx, ns)
}

// finalize removes the "kubernetes" finalizer; with no other finalizer left the
// API server deletes the namespace.
func (c *namespaceController) finalize(ctx context.Context, ns *corev1.Namespace) error {
	ns = ns.DeepCopy()
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	_, err := c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", ns.Name, err)
	}
	c.log.Debug("namespace finalized", "namespace", ns.Name)
	return nil
}

// namespacedResources returns the namespaced resources that can be listed and
// deleted, from a discovery result at most resourcesCacheTTL old.
func (c *namespaceController) namespacedResources() ([]apiResource, error) {
	c.mu.Lock()
	if c.resources != nil && c.now().Sub(c.found) < resourcesCacheTTL {
		defer c.mu.Unlock()
		return c.resources, nil
	}
	c.mu.Unlock()
	all, err := discoverResources(c.discovery)
	var out []apiResource
	for _, r := range all {
		if r.namespaced && r.can("list", "delete") {
			out = append(out, r)
		}
	}
	if err == nil {
		c.mu.Lock()
		c.resources, c.found = out, c.now()
		c.mu.Unlock()
	}
	return out, err
}

// deletion is the outcome of one pass over a namespace's content.
type deletion struct {
	discoveryErr error
	deleteErrs   []error
	left         map[string]int // instances left, by group-resource
	finalizers   map[string]int // instances left holding each finalizer
	estimate     time.Duration  // longest grace period of a pod left
}

func (d *deletion) err() error {
	return errors.Join(append([]error{d.discoveryErr}, d.deleteErrs...)...)
}

func (d *deletion) remaining() bool {
	for _, n := range d.left {
		if n > 0 {
			return true
		}
	}
	return false
}

// deleteContent deletes every object of every namespaced resource in ns (a
// collection delete where the resource has one, with background propagation),
// then counts what is left.
func (c *namespaceController) deleteContent(ctx context.Context, ns string) *deletion {
	d := &deletion{left: map[string]int{}, finalizers: map[string]int{}}
	resources, err := c.namespacedResources()
	if err != nil {
		d.discoveryErr = err
	}
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	for _, r := range resources {
		client := c.metadata.Resource(r.gvr).Namespace(ns)
		gr := r.gvr.GroupResource().String()
		if r.can("deletecollection") {
			if err := client.DeleteCollection(ctx, opts, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
				d.deleteErrs = append(d.deleteErrs, fmt.Errorf("delete %s in %s: %w", gr, ns, err))
			}
		} else if err := deleteEach(ctx, client, background); err != nil {
			d.deleteErrs = append(d.deleteErrs, fmt.Errorf("delete %s in %s: %w", gr, ns, err))
		}
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			d.deleteErrs = append(d.deleteErrs, fmt.Errorf("list %s in %s: %w", gr, ns, err))
			continue
		}
		for _, item := range list.Items {
			d.left[gr]++
			for _, f := range item.Finalizers {
				d.finalizers[f]++
			}
			if g := item.DeletionGracePeriodSeconds; g != nil && r.gvr.Resource == "pods" && r.gvr.Group == "" {
				d.estimate = max(d.estimate, time.Duration(*g)*time.Second)
			}
		}
	}
	return d
}

// deleteEach deletes, one by one, the objects of a resource that has no
// collection delete.
func deleteEach(ctx context.Context, client metadata.ResourceInterface, policy metav1.DeletionPropagation) error {
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var errs []error
	for _, item := range list.Items {
		if item.DeletionTimestamp != nil {
			continue
		}
		err := client.Delete(ctx, item.Name, metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &item.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
