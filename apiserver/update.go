package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// update serves PUT of an object, its /status or a namespace's /finalize.
func (s *Server) update(w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	data, err := toJSON(r, body)
	if err != nil {
		return err
	}
	obj, err := decodeObject(w, r, req.kind, data)
	if err != nil {
		return err
	}
	if m, err := meta.Accessor(obj); err == nil && m.GetName() != req.name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), req.name))
	}
	out, err := s.updateObject(r.Context(), req, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	}, isDryRun(r))
	if err != nil {
		return err
	}
	return writeObject(w, r, req.kind, http.StatusOK, out)
}

// dryRunResult carries the object a dry-run update would have written.
type dryRunResult struct{ obj runtime.Object }

func (dryRunResult) Error() string { return "dry run" }

// updateObject applies the object desired(cur) returns to the stored object cur,
// through the same steps for PUT and PATCH: preconditions, what the subresource may
// change, defaults, validation, generation, finalizers and allocations.
func (s *Server) updateObject(ctx context.Context, req *request, desired func(cur runtime.Object) (runtime.Object, error), dryRun bool) (runtime.Object, error) {
	k := req.kind
	st := s.store(k)
	out, err := st.Update(ctx, req.namespace, req.name, func(cur runtime.Object) (storage.Outcome, error) {
		obj, err := desired(cur.DeepCopyObject())
		if err != nil {
			return storage.Outcome{}, err
		}
		next, err := s.admitUpdate(req, obj, cur)
		if err != nil {
			return storage.Outcome{}, err
		}
		if next.NoOp || next.Delete {
			if dryRun {
				return storage.Outcome{}, dryRunResult{cur}
			}
			if next.Delete {
				next.Extra = s.alloc.forDelete(k, cur)
			}
			return next, nil
		}
		if next.Extra, err = s.alloc.forUpdate(ctx, k, next.Obj, cur); err != nil {
			return storage.Outcome{}, err
		}
		if dryRun {
			return storage.Outcome{}, dryRunResult{next.Obj}
		}
		if next.Extra.Lease, err = s.leases.forKind(ctx, k); err != nil {
			return storage.Outcome{}, err
		}
		return next, nil
	})
	var dr dryRunResult
	if errors.As(err, &dr) {
		return dr.obj, nil
	}
	return out, err
}

// admitUpdate turns the client's object into the one to store, given the stored one.
func (s *Server) admitUpdate(req *request, obj, cur runtime.Object) (storage.Outcome, error) {
	k := req.kind
	m, err := meta.Accessor(obj)
	if err != nil {
		return storage.Outcome{}, apierrors.NewBadRequest(err.Error())
	}
	cm, _ := meta.Accessor(cur)
	if m.GetName() != req.name {
		return storage.Outcome{}, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), req.name))
	}
	if k.Namespaced && m.GetNamespace() != "" && m.GetNamespace() != req.namespace {
		return storage.Outcome{}, apierrors.NewBadRequest("the namespace of the object does not match the namespace on the request")
	}
	m.SetNamespace(cm.GetNamespace())
	if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return storage.Outcome{}, apierrors.NewConflict(k.GroupResource(), req.name,
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if uid := m.GetUID(); uid != "" && uid != cm.GetUID() {
		return storage.Outcome{}, apierrors.NewConflict(k.GroupResource(), req.name,
			preconditionFailed("UID", uid, cm.GetUID()))
	}
	switch req.subresource {
	case "status":
		// Only status and annotations change through /status, as kube-apiserver's
		// status strategies allow (the deployment controller writes its revision
		// annotation with the status).
		status := obj
		annotations := m.GetAnnotations()
		obj = cur.DeepCopyObject()
		copyField(obj, status, "Status")
		m, _ = meta.Accessor(obj)
		m.SetAnnotations(annotations)
	case "finalize":
		// Only a namespace's spec.finalizers change through /finalize.
		fin := obj.(*corev1.Namespace).Spec.Finalizers
		obj = cur.DeepCopyObject()
		obj.(*corev1.Namespace).Spec.Finalizers = fin
		m, _ = meta.Accessor(obj)
	default:
		if k.HasStatus {
			copyField(obj, cur, "Status")
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			ns.Spec.Finalizers = cur.(*corev1.Namespace).Spec.Finalizers
		}
	}
	// System metadata is the server's.
	m.SetUID(cm.GetUID())
	m.SetCreationTimestamp(cm.GetCreationTimestamp())
	m.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	m.SetGeneration(cm.GetGeneration())
	m.SetResourceVersion(cm.GetResourceVersion())
	m.SetSelfLink("")
	if req.subresource == "" {
		preserveAllocated(obj, cur)
		if k.Default != nil {
			k.Default(obj)
		}
	}
	errs := k.ValidateUpdateOf(obj, cur)
	if cm.GetDeletionTimestamp() != nil {
		added := sets.New(m.GetFinalizers()...).Difference(sets.New(cm.GetFinalizers()...))
		if added.Len() > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "finalizers"),
				fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %q", sets.List(added))))
		}
	}
	if len(errs) > 0 {
		return storage.Outcome{}, apierrors.NewInvalid(k.GroupVersionKind().GroupKind(), req.name, errs)
	}
	if k.Generation && !fieldEqual(obj, cur, "Spec") {
		m.SetGeneration(cm.GetGeneration() + 1)
	}
	if readyToDelete(obj) {
		return storage.Outcome{Delete: true}, nil
	}
	if apiequality.Semantic.DeepEqual(obj, cur) {
		return storage.Outcome{NoOp: true}, nil
	}
	return storage.Outcome{Obj: obj}, nil
}

// readyToDelete says whether an object marked for deletion has nothing left holding it:
// no finalizers, no pending grace period, and for a namespace no spec finalizers.
func readyToDelete(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	return true
}

// nsKind returns the Namespace kind.
func (s *Server) nsKind() *registry.Kind { return s.lookup("", "v1", "namespaces") }
