package registry

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Namespaces describes namespace (Namespace).
func Namespaces() *Kind {
	return &Kind{
		GroupVersion:     CoreV1,
		Kind:             "Namespace",
		Resource:         "namespaces",
		Singular:         "namespace",
		ShortNames:       []string{"ns"},
		Categories:       nil,
		Namespaced:       false,
		HasStatus:        true,
		Generation:       false,
		New:              func() runtime.Object { return &corev1.Namespace{} },
		NewList:          func() runtime.Object { return &corev1.NamespaceList{} },
		Default:          defaultNamespace,
		Validate:         validateNamespace,
		PrepareForCreate: prepareNamespaceForCreate,
		Fields:           namespaceFields,
		Columns:          namespaceColumns,
		Row:              rowFunc(len(namespaceColumns)-1, namespaceRow),
	}
}

// defaultNamespace labels a namespace kubernetes.io/metadata.name=<name>.
func defaultNamespace(obj runtime.Object) {
	ns, ok := as[corev1.Namespace](obj)
	if !ok || ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// prepareNamespaceForCreate sets phase Active and the "kubernetes" finalizer,
// which the namespace controller removes once the namespace is empty.
func prepareNamespaceForCreate(obj runtime.Object) {
	ns, ok := as[corev1.Namespace](obj)
	if !ok {
		return
	}
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// validateNamespace checks spec.finalizers.
func validateNamespace(obj runtime.Object) field.ErrorList {
	ns, ok := as[corev1.Namespace](obj)
	if !ok {
		return wrongType(obj, "*v1.Namespace")
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateQualifiedName(string(f), p.Index(i))...)
		errs = append(errs, validateKubeFinalizerName(string(f), p.Index(i))...)
	}
	return errs
}

// namespaceFields adds status.phase to the selectable fields.
func namespaceFields(obj runtime.Object) fields.Set {
	ns, ok := as[corev1.Namespace](obj)
	if !ok {
		return nil
	}
	return fields.Set{"status.phase": string(ns.Status.Phase)}
}

// namespaceColumns are the columns of `kubectl get namespaces`.
var namespaceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "The status of the namespace"},
	ageColumn,
}

// namespaceRow renders the phase and age.
func namespaceRow(ns *corev1.Namespace, now time.Time) []interface{} {
	return []interface{}{string(ns.Status.Phase), translateTimestampSince(ns.CreationTimestamp, now)}
}
