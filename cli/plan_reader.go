package cli

import (
	"context"
	"errors"
	"sort"
	gosync "sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// errPlanWrites is what planReader answers to any write: a plan never writes.
var errPlanWrites = errors.New("berth plan never writes to the cluster")

// planReader is a dynamic client that only reads, and reads what its token may:
// a list or get of a resource the token may not read (Secrets, for the readonly
// token) reads as empty (not found) and the resource is remembered as
// unreadable, so that sync's live-state reading goes on without it. Every write
// fails with errPlanWrites before it reaches the server.
type planReader struct {
	dyn dynamic.Interface

	mu         gosync.Mutex // guards the field below
	unreadable map[schema.GroupResource]bool
}

var _ dynamic.Interface = (*planReader)(nil)

func newPlanReader(dyn dynamic.Interface) *planReader {
	return &planReader{dyn: dyn, unreadable: map[schema.GroupResource]bool{}}
}

// Resource returns the read-only interface of a resource.
func (r *planReader) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	inner := r.dyn.Resource(gvr)
	return &planResource{r: r, gr: gvr.GroupResource(), ri: inner, nri: inner}
}

// forbidden records that a resource cannot be read.
func (r *planReader) forbidden(gr schema.GroupResource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreadable[gr] = true
}

// Unreadable returns the resources the token may not read, sorted.
func (r *planReader) Unreadable() []schema.GroupResource {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]schema.GroupResource, 0, len(r.unreadable))
	for gr := range r.unreadable {
		out = append(out, gr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// isUnreadable says whether a resource was found unreadable.
func (r *planReader) isUnreadable(gr schema.GroupResource) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreadable[gr]
}

// planResource is planReader for one resource, in all namespaces or in one.
type planResource struct {
	r   *planReader
	gr  schema.GroupResource
	ri  dynamic.ResourceInterface
	nri dynamic.NamespaceableResourceInterface // nil once namespaced
}

func (p *planResource) Namespace(ns string) dynamic.ResourceInterface {
	return &planResource{r: p.r, gr: p.gr, ri: p.nri.Namespace(ns)}
}

func (p *planResource) Get(ctx context.Context, name string, o metav1.GetOptions, sub ...string) (*unstructured.Unstructured, error) {
	u, err := p.ri.Get(ctx, name, o, sub...)
	if apierrors.IsForbidden(err) {
		p.r.forbidden(p.gr)
		return nil, apierrors.NewNotFound(p.gr, name)
	}
	return u, err
}

func (p *planResource) List(ctx context.Context, o metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	l, err := p.ri.List(ctx, o)
	if apierrors.IsForbidden(err) {
		p.r.forbidden(p.gr)
		return &unstructured.UnstructuredList{}, nil
	}
	return l, err
}

func (p *planResource) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return p.ri.Watch(ctx, o)
}

func (p *planResource) Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}

func (p *planResource) Update(context.Context, *unstructured.Unstructured, metav1.UpdateOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}

func (p *planResource) UpdateStatus(context.Context, *unstructured.Unstructured, metav1.UpdateOptions) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}

func (p *planResource) Delete(context.Context, string, metav1.DeleteOptions, ...string) error {
	return errPlanWrites
}

func (p *planResource) DeleteCollection(context.Context, metav1.DeleteOptions, metav1.ListOptions) error {
	return errPlanWrites
}

func (p *planResource) Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}

func (p *planResource) Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}

func (p *planResource) ApplyStatus(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions) (*unstructured.Unstructured, error) {
	return nil, errPlanWrites
}
