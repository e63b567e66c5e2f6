package registry

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardFinalizers are the finalizer names Kubernetes accepts without a domain.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

// ValidateObjectMeta checks the metadata every object of kind k must have on
// create and update: a name in the kind's format (DNS-1123 label for
// Namespaces, DNS-1035 label for Services, DNS-1123 subdomain otherwise), a
// namespace exactly when the kind is namespaced, valid label keys and values,
// valid annotation keys within 256 KiB in total, valid owner references and
// qualified finalizer names. Error paths start at "metadata".
//
// The server fills a generated name before calling it, so an empty name is an
// error even when generateName is set.
func ValidateObjectMeta(k *Kind, m metav1.Object) field.ErrorList {
	path := field.NewPath("metadata")
	if k == nil || isNil(m) {
		return field.ErrorList{field.Required(path, "")}
	}
	// The accessor requires a name even when generateName is set.
	errs := apivalidation.ValidateObjectMetaAccessor(m, k.Namespaced, nameFunc(k), path)
	if k.GroupVersion.Group != BerthV1alpha1.Group {
		// Built-in kinds also reject unqualified finalizers that are not standard.
		for i, f := range m.GetFinalizers() {
			errs = append(errs, validateKubeFinalizerName(f, path.Child("finalizers").Index(i))...)
		}
	}
	return errs
}

// nameFunc returns how names of kind k are validated, as Kubernetes does.
func nameFunc(k *Kind) apivalidation.ValidateNameFunc {
	switch {
	case k.GroupVersion == CoreV1 && k.Kind == "Namespace":
		return apivalidation.NameIsDNSLabel
	case k.GroupVersion == CoreV1 && k.Kind == "Service":
		return apivalidation.NameIsDNS1035Label
	default:
		return apivalidation.NameIsDNSSubdomain
	}
}

// validateKubeFinalizerName rejects a finalizer without a domain unless it is
// one of the standard names.
func validateKubeFinalizerName(name string, path *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// ValidateCreate checks a new object: ValidateObjectMeta, then the kind's Validate.
func (k *Kind) ValidateCreate(obj runtime.Object) field.ErrorList {
	m, errs := accessor(obj)
	if errs != nil {
		return errs
	}
	errs = ValidateObjectMeta(k, m)
	if k.Validate != nil {
		errs = append(errs, k.Validate(obj)...)
	}
	return errs
}

// ValidateUpdateOf checks an update of old to obj: ValidateObjectMeta, the
// kind's Validate and its ValidateUpdate. Immutability of name and namespace is
// the server's to check.
func (k *Kind) ValidateUpdateOf(obj, old runtime.Object) field.ErrorList {
	errs := k.ValidateCreate(obj)
	if k.ValidateUpdate != nil && !isNil(old) && !isNil(obj) {
		errs = append(errs, k.ValidateUpdate(obj, old)...)
	}
	return errs
}

// accessor returns obj's metadata, or an error list when obj has none.
func accessor(obj runtime.Object) (metav1.Object, field.ErrorList) {
	if isNil(obj) {
		return nil, field.ErrorList{field.Required(field.NewPath("metadata"), "object is nil")}
	}
	m, err := meta.Accessor(obj)
	if err != nil || isNil(m) {
		return nil, field.ErrorList{field.InternalError(field.NewPath("metadata"), fmt.Errorf("object %T has no metadata: %v", obj, err))}
	}
	return m, nil
}

// isNil reports whether v is nil or a nil pointer in an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// wrongType is the error list a hook returns for an object of another kind.
func wrongType(obj runtime.Object, want string) field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("expected %s, got %T", want, obj))}
}

// as returns obj as a *T, or false when obj is of another type or nil.
func as[T any, PT interface {
	*T
	runtime.Object
}](obj runtime.Object) (PT, bool) {
	p, ok := obj.(PT)
	return p, ok && !isNil(p)
}

// invalid turns the messages of a validation.IsX check into Invalid errors at path.
func invalid(path *field.Path, value interface{}, msgs []string) field.ErrorList {
	errs := make(field.ErrorList, 0, len(msgs))
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
