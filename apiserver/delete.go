package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/storage"
)

// delete serves DELETE of one object.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, req *request) error {
	opts, err := deleteOptions(r)
	if err != nil {
		return err
	}
	out, gone, err := s.deleteObject(r.Context(), req, req.name, opts)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if !gone && opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationForeground {
		code = http.StatusAccepted
	}
	return writeObject(w, r, req.kind, code, out)
}

// deleteCollection serves DELETE of a collection: every object the selectors match.
func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, req *request) error {
	opts, err := deleteOptions(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pred, err := parsePredicate(req.kind, q.Get("labelSelector"), q.Get("fieldSelector"))
	if err != nil {
		return err
	}
	res, err := s.store(req.kind).List(r.Context(), storage.ListOptions{KeyPrefix: namespacePrefix(req), Predicate: pred})
	if err != nil {
		return err
	}
	for _, e := range res.Items {
		sub := *req
		sub.namespace = e.Namespace
		if _, _, err := s.deleteObject(r.Context(), &sub, e.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	writeSuccess(w, r, http.StatusOK, &metav1.StatusDetails{Kind: req.kind.Resource, Group: req.kind.GroupVersion.Group})
	return nil
}

// deleteOptions reads DeleteOptions from the body or the query.
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	switch {
	case len(body) > 0 && isProtobuf(r):
		if err := decodeProtobuf(body, opts); err != nil {
			return nil, err
		}
	case len(body) > 0:
		if err := json.Unmarshal(body, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("gracePeriodSeconds %q is not an integer", g))
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		pp := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &pp
	}
	if q.Get("dryRun") == metav1.DryRunAll {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationForeground, metav1.DeletePropagationBackground, metav1.DeletePropagationOrphan:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy %q: want Foreground, Background or Orphan", *opts.PropagationPolicy))
		}
	}
	//lint:ignore SA1019 older clients still send orphanDependents; Kubernetes honours it.
	if opts.OrphanDependents != nil && opts.PropagationPolicy == nil {
		pp := metav1.DeletePropagationBackground
		//lint:ignore SA1019 see above.
		if *opts.OrphanDependents {
			pp = metav1.DeletePropagationOrphan
		}
		opts.PropagationPolicy = &pp
	}
	return opts, nil
}

// deleteObject deletes an object as kube-apiserver does: pods on a node get a grace
// period (the kubelet finishes the delete), a namespace with spec finalizers turns
// Terminating, Foreground and Orphan propagation add the garbage collector's
// finalizers, and an object with finalizers is only marked. gone says whether the
// object left storage.
func (s *Server) deleteObject(ctx context.Context, req *request, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	k := req.kind
	dryRun := slices.Contains(opts.DryRun, metav1.DryRunAll)
	gone := false
	out, err := s.store(k).Update(ctx, req.namespace, name, func(cur runtime.Object) (storage.Outcome, error) {
		m, _ := meta.Accessor(cur)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != m.GetUID() {
				return storage.Outcome{}, apierrors.NewConflict(k.GroupResource(), name,
					preconditionFailed("UID", *p.UID, m.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
				return storage.Outcome{}, apierrors.NewConflict(k.GroupResource(), name,
					preconditionFailed("ResourceVersion", *p.ResourceVersion, m.GetResourceVersion()))
			}
		}
		changed := markForDeletion(cur, m, opts, time.Now())
		var out storage.Outcome
		switch {
		case readyToDelete(cur) || (m.GetDeletionTimestamp() == nil && len(m.GetFinalizers()) == 0):
			gone = true
			out = storage.Outcome{Delete: true, Extra: s.alloc.forDelete(k, cur)}
		case changed:
			out = storage.Outcome{Obj: cur}
		default:
			out = storage.Outcome{NoOp: true}
		}
		if dryRun {
			return storage.Outcome{}, dryRunResult{cur}
		}
		return out, nil
	})
	var dr dryRunResult
	if errors.As(err, &dr) {
		return dr.obj, gone, nil
	}
	return out, gone, err
}

// markForDeletion sets deletionTimestamp, grace period and propagation finalizers on
// an object that cannot leave storage at once; it reports whether it changed it.
func markForDeletion(obj runtime.Object, m metav1.Object, opts *metav1.DeleteOptions, now time.Time) bool {
	var grace int64
	if pod, ok := obj.(*corev1.Pod); ok {
		grace = podGracePeriod(pod, opts)
	}
	changed := false
	fins := m.GetFinalizers()
	if pp := opts.PropagationPolicy; pp != nil {
		add := map[metav1.DeletionPropagation]string{
			metav1.DeletePropagationForeground: metav1.FinalizerDeleteDependents,
			metav1.DeletePropagationOrphan:     metav1.FinalizerOrphanDependents,
		}[*pp]
		if add != "" && !slices.Contains(fins, add) && m.GetDeletionTimestamp() == nil {
			fins = append(fins, add)
			m.SetFinalizers(fins)
			changed = true
		}
	}
	ns, isNS := obj.(*corev1.Namespace)
	holding := len(fins) > 0 || grace > 0 || (isNS && len(ns.Spec.Finalizers) > 0)
	if !holding {
		if m.GetDeletionTimestamp() != nil && m.GetDeletionGracePeriodSeconds() != nil && *m.GetDeletionGracePeriodSeconds() > 0 {
			// A pod in its grace period deleted with grace 0: it goes now.
			zero := int64(0)
			m.SetDeletionGracePeriodSeconds(&zero)
			return true
		}
		return changed
	}
	if isNS && ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		changed = true
	}
	ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
	if old := m.GetDeletionTimestamp(); old == nil || ts.Before(old) {
		if old == nil || grace < ptrValue(m.GetDeletionGracePeriodSeconds()) {
			m.SetDeletionTimestamp(&ts)
			m.SetDeletionGracePeriodSeconds(&grace)
			changed = true
		}
	}
	return changed
}

// podGracePeriod is the grace period of a pod delete: none for a pod that never ran
// on a node or has finished, else the request's or the pod's own (default 30s).
func podGracePeriod(pod *corev1.Pod, opts *metav1.DeleteOptions) int64 {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if opts.GracePeriodSeconds != nil {
		if *opts.GracePeriodSeconds < 0 {
			return 1
		}
		return *opts.GracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

func ptrValue(p *int64) int64 {
	if p == nil {
		return 1<<63 - 1
	}
	return *p
}

// preconditionFailed is Kubernetes' message for a failed delete or update precondition.
func preconditionFailed(field string, want, have any) error {
	//lint:ignore ST1005 the wording is kube-apiserver's, which clients match on.
	return fmt.Errorf("Precondition failed: %s in precondition: %v, %s in object meta: %v", field, want, field, have)
}
