package manifests

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
)

// Object is one manifest object: the typed object and where it came from.
type Object struct {
	// Kind is what the object is, as the API server serves it.
	Kind *registry.Kind
	// Obj is the typed object (a k8s.io/api type or an api/v1alpha1 one),
	// strictly decoded and not defaulted. A namespaced object's namespace is
	// filled in when the manifest left it out.
	Obj runtime.Object
	// File is the path relative to the repository root, such as "apps/web.yaml";
	// for objects rendered by kustomize, the kustomization file.
	File string
	// Line is the 1-based line where the document starts (1 for objects
	// rendered by kustomize).
	Line int
	// Raw is the document as JSON, as written (keys sorted), with the defaulted
	// namespace filled in: what `kubectl apply` records in the
	// kubectl.kubernetes.io/last-applied-configuration annotation.
	Raw json.RawMessage
}

// ID returns the object's identity: group, kind, namespace and name.
func (o *Object) ID() ObjectID {
	id := ObjectID{Group: o.Kind.GroupVersion.Group, Kind: o.Kind.Kind}
	if m, err := meta.Accessor(o.Obj); err == nil {
		id.Namespace, id.Name = m.GetNamespace(), m.GetName()
	}
	return id
}

// ObjectID identifies an object in a cluster. The version is not part of it:
// one object can be read at several versions.
type ObjectID struct {
	Group     string
	Kind      string
	Namespace string // empty for cluster-scoped objects
	Name      string
}

// String formats id as "group/Kind namespace/name", such as
// "apps/Deployment default/web" or "Namespace prod" (core group, cluster-scoped).
func (id ObjectID) String() string {
	s := id.Kind
	if id.Group != "" {
		s = id.Group + "/" + s
	}
	return s + " " + objectName(id.Namespace, id.Name)
}

// objectName formats namespace/name, or name alone without a namespace.
func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// objectLabel names an object in an error, as "Kind namespace/name", leaving
// out what is unknown.
func objectLabel(kind, namespace, name string) string {
	switch {
	case name == "":
		return kind
	case kind == "":
		return objectName(namespace, name)
	}
	return kind + " " + objectName(namespace, name)
}
