package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resolveControllerRef returns the object of kind gvk that a controller reference
// names, when the cache (get) holds it with the reference's UID: a reference to a
// deleted object whose name was reused resolves to nothing.
func resolveControllerRef[T metav1.Object](ns string, ref *metav1.OwnerReference, gvk schema.GroupVersionKind, get func(ns, name string) (T, error)) (T, bool) {
	var none T
	if ref == nil || ref.Kind != gvk.Kind || ref.APIVersion != gvk.GroupVersion().String() {
		return none, false
	}
	obj, err := get(ns, ref.Name)
	if err != nil || obj.GetUID() != ref.UID {
		return none, false
	}
	return obj, true
}

// selects says whether a controller's selector picks objects with these labels;
// an empty or invalid selector selects nothing, as for adoption in Kubernetes.
func selects(sel *metav1.LabelSelector, lbls map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(lbls))
}
