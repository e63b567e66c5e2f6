package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// ownerUIDIndex indexes the garbage collector's caches by the UIDs of each
// object's owners.
const ownerUIDIndex = "gc.berth.dev/owner-uid"

// garbageCollector deletes objects whose owners are gone, as
// kube-controller-manager's garbage collector does, for every kind the API server
// serves (Events aside). It watches the metadata of everything (PartialObjectMetadata
// informers) and keeps three promises:
//
//   - Background: an object none of whose owners exists any more (not in the
//     cache, and a live GET answers 404 or another UID) is deleted, with
//     background propagation, so chains cascade (Deployment → ReplicaSet → Pod).
//     An object with at least one live owner only loses its references to the
//     owners gone.
//   - Foreground: an owner deleted with the foregroundDeletion finalizer has its
//     dependents deleted (in foreground too when they have dependents of their
//     own) and keeps the finalizer until every dependent with blockOwnerDeletion
//     is gone.
//   - Orphan: an owner deleted with the orphan finalizer has its reference
//     removed from every dependent, then loses the finalizer.
//
// A dependent is never deleted while an owner with the UID it names exists.
type garbageCollector struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	rec       record.EventRecorder
	queue     *workQueue
	log       *slog.Logger

	// Set by start, before any informer runs; read-only afterwards.
	resources []*gcResource
	byGVR     map[schema.GroupVersionResource]*gcResource
	byKind    map[schema.GroupKind]*gcResource
}

// gcResource is one resource the collector watches.
type gcResource struct {
	apiResource
	informer cache.SharedIndexInformer
}

// ignoredGCResources are never watched: they do not carry ownerReferences, and
// there are many of them.
var ignoredGCResources = map[schema.GroupResource]bool{
	{Resource: "events"}:                         true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

func newGarbageCollector(cc *controllerContext) (controller, error) {
	meta, err := metadataClientFor(cc)
	if err != nil {
		return nil, err
	}
	return newGarbageCollectorWith(cc, meta, cc.client.Discovery()), nil
}

// newGarbageCollectorWith builds the collector on the given metadata and
// discovery clients (fakes in unit tests).
func newGarbageCollectorWith(cc *controllerContext, meta metadata.Interface, disc discovery.DiscoveryInterface) *garbageCollector {
	gc := &garbageCollector{
		metadata: meta, discovery: disc, rec: cc.recorder("garbage-collector-controller"),
		log: cc.log.With("controller", "garbagecollector"),
	}
	gc.queue = newWorkQueue("garbagecollector", cc.log, gc.sync)
	return gc
}

// run discovers the resources served, fills a metadata cache of each, and
// collects garbage until ctx ends.
func (gc *garbageCollector) run(ctx context.Context, workers int) {
	var resources []apiResource
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		var err error
		if resources, err = discoverResources(gc.discovery); err == nil {
			break
		}
		gc.log.Warn("discovery failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
	factory := metadatainformer.NewSharedInformerFactory(gc.metadata, 0)
	if err := gc.start(resources, factory); err != nil {
		gc.log.Error("garbage collector not started", "err", err)
		<-ctx.Done()
		return
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for gvr, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() == nil {
				gc.log.Error("cache did not sync", "resource", gvr.String())
			}
			return
		}
	}
	gc.queue.run(ctx, workers)
}

// start registers a metadata informer, indexed by owner UID, for each resource
// that can be watched, deleted and patched.
func (gc *garbageCollector) start(resources []apiResource, factory metadatainformer.SharedInformerFactory) error {
	gc.byGVR = map[schema.GroupVersionResource]*gcResource{}
	gc.byKind = map[schema.GroupKind]*gcResource{}
	for _, r := range resources {
		if ignoredGCResources[r.gvr.GroupResource()] || !r.can("list", "watch", "delete", "patch") {
			continue
		}
		res := &gcResource{apiResource: r, informer: factory.ForResource(r.gvr).Informer()}
		if err := res.informer.AddIndexers(cache.Indexers{ownerUIDIndex: ownerUIDs}); err != nil {
			return fmt.Errorf("index %s by owner: %w", r.gvr, err)
		}
		if _, err := res.informer.AddEventHandler(gc.handler(res)); err != nil {
			return fmt.Errorf("watch %s: %w", r.gvr, err)
		}
		gc.resources = append(gc.resources, res)
		gc.byGVR[r.gvr] = res
		gc.byKind[schema.GroupKind{Group: r.gvr.Group, Kind: r.kind}] = res
	}
	return nil
}

// ownerUIDs indexes an object by its owners' UIDs.
func ownerUIDs(obj any) ([]string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, ref := range m.GetOwnerReferences() {
		out = append(out, string(ref.UID))
	}
	return out, nil
}

// handler queues what a change to an object of res may have made collectable:
// the object itself when it has owners or is being deleted with a finalizer of
// the collector's, its former owners when it loses references or goes (a
// foreground deletion may be waiting for it), and its dependents when it goes.
func (gc *garbageCollector) handler(res *gcResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok && (len(m.OwnerReferences) > 0 || gcFinalizing(m)) {
				gc.queue.addKey(gcKey(res, m.Namespace, m.Name))
			}
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*metav1.PartialObjectMetadata)
			m, ok2 := cur.(*metav1.PartialObjectMetadata)
			if !ok1 || !ok2 {
				return
			}
			if !slices.EqualFunc(o.OwnerReferences, m.OwnerReferences, ownerRefEqual) ||
				!slices.Equal(o.Finalizers, m.Finalizers) || (o.DeletionTimestamp == nil) != (m.DeletionTimestamp == nil) {
				gc.queue.addKey(gcKey(res, m.Namespace, m.Name))
			}
			for _, ref := range o.OwnerReferences {
				if !slices.ContainsFunc(m.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == ref.UID }) {
					gc.enqueueOwner(m, ref)
				}
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			m, ok := obj.(*metav1.PartialObjectMetadata)
			if !ok {
				return
			}
			for _, ref := range m.OwnerReferences {
				gc.enqueueOwner(m, ref)
			}
			for _, dep := range gc.dependentsOf(m.UID) {
				gc.queue.addKey(gcKey(dep.res, dep.obj.Namespace, dep.obj.Name))
			}
		},
	}
}

// enqueueOwner queues the owner a reference of dependent names, if its kind is known.
func (gc *garbageCollector) enqueueOwner(dependent *metav1.PartialObjectMetadata, ref metav1.OwnerReference) {
	res := gc.resourceOf(ref)
	if res == nil {
		return
	}
	ns := ""
	if res.namespaced {
		ns = dependent.Namespace
	}
	gc.queue.addKey(gcKey(res, ns, ref.Name))
}

// resourceOf is the resource of the kind an ownerReference names, or nil.
func (gc *garbageCollector) resourceOf(ref metav1.OwnerReference) *gcResource {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil
	}
	return gc.byKind[schema.GroupKind{Group: gv.Group, Kind: ref.Kind}]
}

// gcFinalizing says whether an object is being deleted with the orphan or
// foregroundDeletion finalizer, which the collector removes.
func gcFinalizing(m *metav1.PartialObjectMetadata) bool {
	return m.DeletionTimestamp != nil &&
		(slices.Contains(m.Finalizers, metav1.FinalizerOrphanDependents) || slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents))
}

// ownerRefEqual compares the fields of ownerReferences the collector acts on.
func ownerRefEqual(a, b metav1.OwnerReference) bool {
	return a.UID == b.UID && a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name &&
		boolValue(a.BlockOwnerDeletion) == boolValue(b.BlockOwnerDeletion)
}

func boolValue(b *bool) bool { return b != nil && *b }

// gcKey is the queue key of an object: "group|version|resource|namespace|name".
func gcKey(res *gcResource, ns, name string) string {
	return strings.Join([]string{res.gvr.Group, res.gvr.Version, res.gvr.Resource, ns, name}, "|")
}

// parseGCKey splits a queue key into its resource, namespace and name.
func (gc *garbageCollector) parseGCKey(key string) (*gcResource, string, string, bool) {
	p := strings.Split(key, "|")
	if len(p) != 5 {
		return nil, "", "", false
	}
	res := gc.byGVR[schema.GroupVersionResource{Group: p[0], Version: p[1], Resource: p[2]}]
	return res, p[3], p[4], res != nil
}

// cached returns an object of res from the cache.
func (res *gcResource) cached(ns, name string) (*metav1.PartialObjectMetadata, bool) {
	key := name
	if ns != "" {
		key = ns + "/" + name
	}
	obj, exists, err := res.informer.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	return m, ok
}

// dependent is an object with an ownerReference, and its resource.
type dependent struct {
	res *gcResource
	obj *metav1.PartialObjectMetadata
}

// dependentsOf lists the cached objects that name the owner with this UID.
func (gc *garbageCollector) dependentsOf(uid types.UID) []dependent {
	var out []dependent
	for _, res := range gc.resources {
		objs, _ := res.informer.GetIndexer().ByIndex(ownerUIDIndex, string(uid))
		for _, obj := range objs {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				out = append(out, dependent{res, m})
			}
		}
	}
	return out
}

// ownerRefTo returns the dependent's reference to the owner with this UID.
func ownerRefTo(m *metav1.PartialObjectMetadata, uid types.UID) *metav1.OwnerReference {
	for i := range m.OwnerReferences {
		if m.OwnerReferences[i].UID == uid {
			return &m.OwnerReferences[i]
		}
	}
	return nil
}

// invalidNamespaceRef records that a cluster-scoped object names a namespaced
// owner, which cannot exist, as kube-controller-manager reports it.
func (gc *garbageCollector) invalidNamespaceRef(res *gcResource, m *metav1.PartialObjectMetadata, ref metav1.OwnerReference) {
	obj := &corev1.ObjectReference{
		APIVersion: res.gvr.GroupVersion().String(), Kind: res.kind, Name: m.Name, Namespace: m.Namespace, UID: m.UID,
	}
	gc.rec.Eventf(obj, corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
		"ownerRef [%s/%s, namespace: %s, name: %s, uid: %s] does not exist in namespace %q",
		ref.APIVersion, ref.Kind, m.Namespace, ref.Name, ref.UID, m.Namespace)
}
