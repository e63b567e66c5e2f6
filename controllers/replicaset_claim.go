package controllers

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// ownershipClaim sorts out which objects (pods of a ReplicaSet, ReplicaSets of a
// Deployment) an owner controls, as kube-controller-manager's ControllerRefManager
// does: it keeps what it controls and still selects, adopts orphans it selects (a
// controller ownerReference patched on), and releases what it controls but no longer
// selects (the ownerReference patched off). Objects controlled by someone else are
// never touched.
type ownershipClaim[T metav1.Object] struct {
	owner    metav1.Object
	ref      metav1.OwnerReference // the controller reference adoption adds
	selector labels.Selector
	// fresh reads the owner from the API server (not the cache); before the first
	// adoption it must still exist with the same UID and not be deleting, so a stale
	// cache never makes a deleted owner adopt.
	fresh func(ctx context.Context) (metav1.Object, error)
	// patch sends a strategic merge patch to the object.
	patch func(ctx context.Context, obj T, patch []byte) error

	checked  bool
	checkErr error
}

// claim returns the objects the owner controls after adopting and releasing.
func (c *ownershipClaim[T]) claim(ctx context.Context, objs []T) ([]T, error) {
	var out []T
	var errs []error
	for _, obj := range objs {
		ok, err := c.claimOne(ctx, obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, obj)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("claim for %s/%s: %w", c.owner.GetNamespace(), c.owner.GetName(), errs[0])
	}
	return out, nil
}

// claimOne says whether the owner controls obj once adopted or released.
func (c *ownershipClaim[T]) claimOne(ctx context.Context, obj T) (bool, error) {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref != nil && ref.UID != c.owner.GetUID() {
		return false, nil // someone else's
	}
	matches := c.selector.Matches(labels.Set(obj.GetLabels()))
	if ref != nil {
		if matches {
			return true, nil
		}
		if c.owner.GetDeletionTimestamp() != nil {
			return false, nil // a deleting owner releases nothing: the garbage collector decides
		}
		err := c.patch(ctx, obj, releasePatch(c.owner.GetUID(), obj.GetUID()))
		if err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("release %s: %w", obj.GetName(), err)
		}
		return false, nil
	}
	if !matches || c.owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil ||
		obj.GetNamespace() != c.owner.GetNamespace() {
		return false, nil
	}
	if err := c.canAdopt(ctx); err != nil {
		return false, err
	}
	err := c.patch(ctx, obj, adoptPatch(c.ref, obj.GetUID()))
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("adopt %s: %w", obj.GetName(), err)
	}
	return true, nil
}

// canAdopt checks once, against the API server, that the owner may adopt.
func (c *ownershipClaim[T]) canAdopt(ctx context.Context) error {
	if c.checked {
		return c.checkErr
	}
	c.checked = true
	fresh, err := c.fresh(ctx)
	switch {
	case err != nil:
		c.checkErr = fmt.Errorf("recheck %s before adopting: %w", c.owner.GetName(), err)
	case fresh.GetUID() != c.owner.GetUID():
		c.checkErr = fmt.Errorf("original %s/%s is gone: got uid %v, wanted %v",
			c.owner.GetNamespace(), c.owner.GetName(), fresh.GetUID(), c.owner.GetUID())
	case fresh.GetDeletionTimestamp() != nil:
		c.checkErr = fmt.Errorf("%s/%s has just been deleted at %v",
			c.owner.GetNamespace(), c.owner.GetName(), fresh.GetDeletionTimestamp())
	}
	return c.checkErr
}

// adoptPatch adds ref to an object's ownerReferences; the object's UID in the
// patch makes it fail if the object was replaced by one of the same name.
func adoptPatch(ref metav1.OwnerReference, uid types.UID) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{ref},
		"uid":             uid,
	}})
	return b
}

// releasePatch removes the ownerReference of owner from an object.
func releasePatch(owner, uid types.UID) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": owner}},
		"uid":             uid,
	}})
	return b
}
