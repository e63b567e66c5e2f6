package registry

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Kind is everything the API server needs to know about one resource.
type Kind struct {
	// GroupVersion and Kind name the type; Resource and Singular its REST names.
	GroupVersion schema.GroupVersion
	Kind         string
	Resource     string
	Singular     string
	ShortNames   []string
	// Categories such as "all" group resources for `kubectl get all`.
	Categories []string
	Namespaced bool
	// HasStatus says the kind has a /status subresource: the main endpoint keeps
	// status as stored and /status keeps everything but status.
	HasStatus bool
	// Generation says metadata.generation is set on create and bumped on spec changes.
	Generation bool

	// New returns an empty object of the kind; NewList an empty list.
	New     func() runtime.Object
	NewList func() runtime.Object

	// Default fills in defaulted fields of a new or updated object (nil: none).
	Default func(obj runtime.Object)
	// Validate checks a new object (nil: names only).
	Validate func(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update against the stored object: immutable
	// fields and the like (nil: Validate only).
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// PrepareForCreate resets what a client may not set on create, such as status
	// for kinds with a status subresource (nil: nothing).
	PrepareForCreate func(obj runtime.Object)
	// Fields returns the fields a field selector matches, beyond metadata.name
	// and metadata.namespace, which every kind has (nil: none).
	Fields func(obj runtime.Object) fields.Set
	// Columns and Row render `kubectl get` tables (nil: Name and Age).
	// Row returns the cells after the name, in the order of Columns[1:].
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object) []interface{}
}

// GroupVersionKind returns the kind's full name.
func (k *Kind) GroupVersionKind() schema.GroupVersionKind {
	return k.GroupVersion.WithKind(k.Kind)
}

// GroupVersionResource returns the kind's resource name.
func (k *Kind) GroupVersionResource() schema.GroupVersionResource {
	return k.GroupVersion.WithResource(k.Resource)
}

// GroupResource returns the group and resource, as used in error messages.
func (k *Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.GroupVersion.Group, Resource: k.Resource}
}

// ObjectFields returns the field set of obj for field selectors.
func (k *Kind) ObjectFields(obj runtime.Object, name, namespace string) fields.Set {
	set := fields.Set{"metadata.name": name}
	if k.Namespaced {
		set["metadata.namespace"] = namespace
	}
	if k.Fields != nil {
		for f, v := range k.Fields(obj) {
			set[f] = v
		}
	}
	return set
}
