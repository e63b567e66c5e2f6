package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what became of an object's owner.
type ownerState int

const (
	ownerPresent  ownerState = iota // exists, with the UID the reference names
	ownerAbsent                     // gone, or replaced by an object with another UID
	ownerDeleting                   // being deleted in foreground: waiting for its dependents
)

// errOwnerKindNotServed is an ownerReference to a kind the API server does not
// serve: such an owner cannot be looked up, so the dependent is kept.
var errOwnerKindNotServed = errors.New("owner kind not served")

// sync looks at one object: a deleting owner's orphan or foreground finalizer, or
// a dependent whose owners may be gone.
func (gc *garbageCollector) sync(ctx context.Context, key string) error {
	res, ns, name, ok := gc.parseGCKey(key)
	if !ok {
		return nil
	}
	obj, ok := res.cached(ns, name)
	if !ok {
		return nil // gone: its dependents were queued by the delete
	}
	if obj.DeletionTimestamp != nil {
		switch {
		case slices.Contains(obj.Finalizers, metav1.FinalizerOrphanDependents):
			return gc.orphanDependents(ctx, res, obj)
		case slices.Contains(obj.Finalizers, metav1.FinalizerDeleteDependents):
			return gc.deleteDependents(ctx, res, obj)
		}
		return nil
	}
	if len(obj.OwnerReferences) == 0 || gc.ownersCached(res, obj) {
		return nil
	}
	// Some owner is not in the cache, or is going: decide on the latest object.
	latest, err := gc.metadata.Resource(res.gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get %s %s: %w", res.gvr.Resource, objectName(ns, name), err)
	}
	if latest.DeletionTimestamp != nil {
		return nil // its update event brings it back
	}
	return gc.collect(ctx, res, latest)
}

// ownersCached says whether every owner of obj is in the cache, with the UID its
// reference names, and not being deleted in foreground: nothing to do.
func (gc *garbageCollector) ownersCached(res *gcResource, obj *metav1.PartialObjectMetadata) bool {
	for _, ref := range obj.OwnerReferences {
		ores := gc.resourceOf(ref)
		if ores == nil || (ores.namespaced && !res.namespaced) {
			return false
		}
		ns := ""
		if ores.namespaced {
			ns = obj.Namespace
		}
		owner, ok := ores.cached(ns, ref.Name)
		if !ok || owner.UID != ref.UID || deletingDependents(owner) {
			return false
		}
	}
	return true
}

// deletingDependents says whether an owner is being deleted in foreground.
func deletingDependents(m *metav1.PartialObjectMetadata) bool {
	return m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents)
}

// ownerState looks up the owner a reference of obj names: in the cache, and when
// it is not there (or has another UID) with a live GET, so a cache that has not
// seen a new owner yet never gets a dependent deleted.
func (gc *garbageCollector) ownerState(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata, ref metav1.OwnerReference) (ownerState, error) {
	ores := gc.resourceOf(ref)
	if ores == nil {
		return ownerPresent, fmt.Errorf("owner %s %s of %s %s: %w", ref.APIVersion, ref.Kind, res.gvr.Resource, objectName(obj.Namespace, obj.Name), errOwnerKindNotServed)
	}
	ns := ""
	if ores.namespaced {
		if !res.namespaced {
			gc.invalidNamespaceRef(res, obj, ref)
			return ownerAbsent, nil
		}
		ns = obj.Namespace
	}
	owner, ok := ores.cached(ns, ref.Name)
	if !ok || owner.UID != ref.UID {
		live, err := gc.metadata.Resource(ores.gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return ownerAbsent, nil
		case err != nil:
			return ownerPresent, fmt.Errorf("get owner %s %s: %w", ores.gvr.Resource, objectName(ns, ref.Name), err)
		case live.UID != ref.UID:
			return ownerAbsent, nil
		}
		owner = live
	}
	if deletingDependents(owner) {
		return ownerDeleting, nil
	}
	return ownerPresent, nil
}

// collect decides on a dependent some of whose owners may be gone: with an owner
// present it only drops its references to owners gone or deleting; otherwise it
// is deleted (in foreground when an owner waits for it and it has dependents of
// its own, so they go first).
func (gc *garbageCollector) collect(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata) error {
	var present, absent, deleting []types.UID
	for _, ref := range obj.OwnerReferences {
		state, err := gc.ownerState(ctx, res, obj, ref)
		if errors.Is(err, errOwnerKindNotServed) {
			// The API server's kinds are fixed: retrying would not help.
			gc.log.Warn("owner cannot be looked up; the object is kept", "err", err)
			return nil
		}
		if err != nil {
			return err
		}
		switch state {
		case ownerPresent:
			present = append(present, ref.UID)
		case ownerAbsent:
			absent = append(absent, ref.UID)
		case ownerDeleting:
			deleting = append(deleting, ref.UID)
		}
	}
	switch {
	case len(present) > 0 && len(absent)+len(deleting) == 0:
		return nil
	case len(present) > 0:
		return gc.removeOwnerRefs(ctx, res, obj, append(absent, deleting...))
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case len(deleting) > 0 && len(gc.dependentsOf(obj.UID)) > 0:
		policy = metav1.DeletePropagationForeground
	case slices.Contains(obj.Finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(obj.Finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return gc.deleteObject(ctx, res, obj, policy)
}

// deleteObject deletes obj (that very object: the UID is a precondition).
func (gc *garbageCollector) deleteObject(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	gc.log.Debug("deleting dependent", "resource", res.gvr.Resource, "object", objectName(obj.Namespace, obj.Name), "propagation", policy)
	err := gc.metadata.Resource(res.gvr).Namespace(obj.Namespace).Delete(ctx, obj.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &obj.UID}, PropagationPolicy: &policy,
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s: %w", res.gvr.Resource, objectName(obj.Namespace, obj.Name), err)
	}
	return nil
}

// deleteDependents serves an owner deleted in foreground: it queues its
// dependents (each is deleted, or loses its reference when it has another owner)
// and removes the foregroundDeletion finalizer once no dependent with
// blockOwnerDeletion is left. Dependents' deletions queue the owner again.
func (gc *garbageCollector) deleteDependents(ctx context.Context, res *gcResource, owner *metav1.PartialObjectMetadata) error {
	blocking := 0
	for _, dep := range gc.dependentsOf(owner.UID) {
		if ref := ownerRefTo(dep.obj, owner.UID); ref != nil && boolValue(ref.BlockOwnerDeletion) {
			blocking++
		}
		if dep.obj.DeletionTimestamp == nil {
			gc.queue.addKey(gcKey(dep.res, dep.obj.Namespace, dep.obj.Name))
		}
	}
	if blocking > 0 {
		return nil
	}
	return gc.removeFinalizer(ctx, res, owner, metav1.FinalizerDeleteDependents)
}

// orphanDependents serves an owner deleted with the orphan finalizer: it removes
// the reference to the owner from each dependent, then the finalizer.
func (gc *garbageCollector) orphanDependents(ctx context.Context, res *gcResource, owner *metav1.PartialObjectMetadata) error {
	var errs []error
	for _, dep := range gc.dependentsOf(owner.UID) {
		if err := gc.removeOwnerRefs(ctx, dep.res, dep.obj, []types.UID{owner.UID}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return gc.removeFinalizer(ctx, res, owner, metav1.FinalizerOrphanDependents)
}

// removeOwnerRefs drops obj's references to the owners with these UIDs, with a
// merge patch that holds only if obj is still the version seen.
func (gc *garbageCollector) removeOwnerRefs(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata, uids []types.UID) error {
	refs := slices.DeleteFunc(slices.Clone(obj.OwnerReferences), func(r metav1.OwnerReference) bool { return slices.Contains(uids, r.UID) })
	if len(refs) == len(obj.OwnerReferences) {
		return nil
	}
	var value any = refs
	if len(refs) == 0 {
		value = nil
	}
	return gc.patchMeta(ctx, res, obj, "ownerReferences", value)
}

// removeFinalizer removes one finalizer from obj, if obj is still the version seen.
func (gc *garbageCollector) removeFinalizer(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata, finalizer string) error {
	fins := slices.DeleteFunc(slices.Clone(obj.Finalizers), func(f string) bool { return f == finalizer })
	var value any = fins
	if len(fins) == 0 {
		value = nil
	}
	return gc.patchMeta(ctx, res, obj, "finalizers", value)
}

// patchMeta sets one metadata field of obj with a JSON merge patch carrying its
// UID and resourceVersion as preconditions (a conflict is retried from the cache).
func (gc *garbageCollector) patchMeta(ctx context.Context, res *gcResource, obj *metav1.PartialObjectMetadata, field string, value any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		field: value, "uid": obj.UID, "resourceVersion": obj.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = gc.metadata.Resource(res.gvr).Namespace(obj.Namespace).Patch(ctx, obj.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update %s of %s %s: %w", field, res.gvr.Resource, objectName(obj.Namespace, obj.Name), err)
	}
	return nil
}

// objectName is "namespace/name", or "name" for a cluster-scoped object.
func objectName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
