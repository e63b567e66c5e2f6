package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/berth-dev/berth/apiserver/storage"
)

// create serves POST to a collection.
func (s *Server) create(w http.ResponseWriter, r *http.Request, req *request) error {
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
	out, err := s.createObject(r.Context(), req, obj, isDryRun(r))
	if err != nil {
		return err
	}
	return writeObject(w, r, req.kind, http.StatusCreated, out)
}

// isDryRun says whether the request asks for dryRun=All.
func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == metav1.DryRunAll {
			return true
		}
	}
	return false
}

// createObject admits and stores a new object: namespace, generateName, system
// metadata, defaults, validation, allocations. With dryRun it stores nothing.
func (s *Server) createObject(ctx context.Context, req *request, obj runtime.Object, dryRun bool) (runtime.Object, error) {
	k := req.kind
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if k.Namespaced {
		switch {
		case m.GetNamespace() == "":
			m.SetNamespace(req.namespace)
		case req.namespace != "" && m.GetNamespace() != req.namespace:
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		if m.GetNamespace() == "" {
			return nil, apierrors.NewBadRequest("a namespace is required to create a " + k.Kind)
		}
	} else {
		m.SetNamespace("")
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	if generated {
		m.SetName(m.GetGenerateName() + utilrand.String(5))
	}
	m.SetUID(newUID())
	m.SetCreationTimestamp(metav1.Now())
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetGeneration(0)
	if k.Generation {
		m.SetGeneration(1)
	}
	if k.PrepareForCreate != nil {
		k.PrepareForCreate(obj)
	}
	if k.Default != nil {
		k.Default(obj)
	}
	if errs := k.ValidateCreate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(k.GroupVersionKind().GroupKind(), m.GetName(), errs)
	}
	if k.Namespaced {
		if err := s.namespaceOpen(ctx, m.GetNamespace()); err != nil {
			return nil, err
		}
	}
	st := s.store(k)
	for attempt := 0; ; attempt++ {
		try := obj.DeepCopyObject()
		extra, err := s.alloc.forCreate(ctx, k, try)
		if err != nil {
			return nil, err
		}
		if dryRun {
			return try, nil
		}
		if extra.Lease, err = s.leases.forKind(ctx, k); err != nil {
			return nil, err
		}
		created, err := st.Create(ctx, m.GetNamespace(), m.GetName(), try, extra)
		switch {
		case err == nil:
			return created, nil
		case errors.Is(err, storage.ErrTxnConflict) && attempt < 20:
			continue // an allocation was taken meanwhile: allocate again
		case apierrors.IsAlreadyExists(err) && generated && attempt < 5:
			m.SetName(m.GetGenerateName() + utilrand.String(5))
			continue
		case errors.Is(err, storage.ErrTxnConflict):
			return nil, apierrors.NewInternalError(fmt.Errorf("allocate for %s: %w", m.GetName(), err))
		}
		return nil, err
	}
}

// namespaceOpen checks that a namespace exists and is not terminating. It reads etcd,
// not the watch cache, so that a namespace deleted a moment ago refuses new content.
func (s *Server) namespaceOpen(ctx context.Context, ns string) error {
	nsKind := s.nsKind()
	obj, err := s.store(nsKind).Get(ctx, "", ns)
	if err != nil {
		return err
	}
	m, _ := meta.Accessor(obj)
	if m.GetDeletionTimestamp() != nil {
		return apierrors.NewForbidden(nsKind.GroupResource(), ns,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

func newUID() types.UID { return types.UID(uuid.NewString()) }
