package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	st := s.store(k)
	for attempt := 0; ; attempt++ {
		var nsCmp []clientv3.Cmp
		if k.Namespaced {
			cmp, err := s.namespaceOpen(ctx, k.GroupResource(), m.GetName(), m.GetNamespace(), attempt > 0)
			if err != nil {
				return nil, err
			}
			nsCmp = append(nsCmp, cmp)
		}
		try := obj.DeepCopyObject()
		actx := ctx
		if attempt > 0 {
			actx = context.WithValue(ctx, retryKey{}, true)
		}
		extra, err := s.alloc.forCreate(actx, k, try)
		if err != nil {
			return nil, err
		}
		extra.Cmps = append(extra.Cmps, nsCmp...)
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
			continue // an allocation was taken or the namespace changed meanwhile: look again
		case apierrors.IsAlreadyExists(err) && generated && attempt < 5:
			m.SetName(m.GetGenerateName() + utilrand.String(5))
			continue
		case errors.Is(err, storage.ErrTxnConflict):
			return nil, apierrors.NewInternalError(fmt.Errorf("allocate for %s: %w", m.GetName(), err))
		}
		return nil, err
	}
}

// namespaceOpen checks that a namespace exists and is not terminating, from the watch
// cache (live when the cache has not seen it, or when live is set). It returns a
// comparison for the create's transaction: the namespace must be unchanged since it was
// read, so a namespace deleted meanwhile fails the create, which then reads it live.
//
// gr and name are what is being created, for the error.
func (s *Server) namespaceOpen(ctx context.Context, gr schema.GroupResource, name, ns string, live bool) (clientv3.Cmp, error) {
	nsKind := s.nsKind()
	st := s.store(nsKind)
	key := st.Key("", ns)
	var obj runtime.Object
	if e, ok := st.Cacher().Get(key); ok && !live {
		obj = e.Obj
	} else {
		var err error
		if obj, err = st.Get(ctx, "", ns); err != nil {
			return clientv3.Cmp{}, err
		}
	}
	m, _ := meta.Accessor(obj)
	if m.GetDeletionTimestamp() != nil {
		return clientv3.Cmp{}, namespaceTerminating(gr, name, ns)
	}
	rev, err := storage.ParseResourceVersion(m.GetResourceVersion())
	if err != nil {
		return clientv3.Cmp{}, apierrors.NewInternalError(err)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev), nil
}

// namespaceTerminating is kube-apiserver's refusal to create in a terminating
// namespace, with the NamespaceTerminating cause controllers look for.
func namespaceTerminating(gr schema.GroupResource, name, ns string) error {
	err := apierrors.NewForbidden(gr, name,
		fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type:    corev1.NamespaceTerminatingCause,
		Message: fmt.Sprintf("namespace %s is being terminated", ns),
		Field:   "metadata.namespace",
	})
	return err
}

func newUID() types.UID { return types.UID(uuid.NewString()) }
