package sync

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/berth-dev/berth/apiserver/registry"
)

// resource returns the dynamic client of a kind in a namespace.
func resource(dyn dynamic.Interface, k *registry.Kind, ns string) dynamic.ResourceInterface {
	r := dyn.Resource(k.GroupVersionResource())
	if k.Namespaced {
		return r.Namespace(ns)
	}
	return r
}

// LiveState returns what Plan compares against: every object labelled as the source's,
// of every kind, and the live state of each desired object, owned or not.
func LiveState(ctx context.Context, dyn dynamic.Interface, source Source, desired []*Desired) (map[ID]*unstructured.Unstructured, error) {
	live := map[ID]*unstructured.Unstructured{}
	sel := metav1.ListOptions{LabelSelector: source.Selector()}
	for _, k := range registry.All() {
		l, err := dyn.Resource(k.GroupVersionResource()).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("list %s of source %s: %w", k.Resource, source, err)
		}
		for i := range l.Items {
			u := &l.Items[i]
			u.SetGroupVersionKind(k.GroupVersionKind())
			live[IDOf(u)] = u
		}
	}
	return live, fillMissing(ctx, dyn, live, desired)
}

// fillMissing adds the live state of desired objects the source does not own yet
// (first sync, adoption, another source's), reading them by listing their kind in
// their namespace, one request for many.
func fillMissing(ctx context.Context, dyn dynamic.Interface, live map[ID]*unstructured.Unstructured, desired []*Desired) error {
	// Desired objects the source does not own yet (first sync, adoption, another
	// source's): read by listing their kind in their namespace, one request for many.
	type group struct {
		k  *registry.Kind
		ns string
	}
	missing := map[group][]ID{}
	for _, d := range desired {
		id := IDOf(d.Obj)
		if _, ok := live[id]; !ok {
			g := group{d.Kind, id.Namespace}
			missing[g] = append(missing[g], id)
		}
	}
	for g, ids := range missing {
		if len(ids) <= 3 {
			for _, id := range ids {
				u, err := resource(dyn, g.k, id.Namespace).Get(ctx, id.Name, metav1.GetOptions{})
				switch {
				case apierrors.IsNotFound(err):
				case err != nil:
					return fmt.Errorf("get %s: %w", id, err)
				default:
					u.SetGroupVersionKind(g.k.GroupVersionKind())
					live[id] = u
				}
			}
			continue
		}
		l, err := resource(dyn, g.k, g.ns).List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("list %s in %q: %w", g.k.Resource, g.ns, err)
		}
		want := map[ID]bool{}
		for _, id := range ids {
			want[id] = true
		}
		if l != nil {
			for i := range l.Items {
				u := &l.Items[i]
				u.SetGroupVersionKind(g.k.GroupVersionKind())
				if id := IDOf(u); want[id] {
					live[id] = u
				}
			}
		}
	}
	return nil
}

// kindOf returns the kind of an action, looking it up from the live object for deletes.
func kindOf(a Action) *registry.Kind {
	if a.Kind != nil {
		return a.Kind
	}
	return registry.ByGroupVersionKind(a.Live.GroupVersionKind())
}
