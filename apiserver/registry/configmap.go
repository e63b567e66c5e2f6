package registry

import (
	"reflect"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// immutableMsg is Kubernetes' message for data changed under immutable: true.
const immutableMsg = "field is immutable when `immutable` is set"

// ConfigMaps describes configmap (ConfigMap).
func ConfigMaps() *Kind {
	return &Kind{
		GroupVersion:   CoreV1,
		Kind:           "ConfigMap",
		Resource:       "configmaps",
		Singular:       "configmap",
		ShortNames:     []string{"cm"},
		Categories:     nil,
		Namespaced:     true,
		HasStatus:      false,
		Generation:     false,
		New:            func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:        func() runtime.Object { return &corev1.ConfigMapList{} },
		Validate:       validateConfigMap,
		ValidateUpdate: validateConfigMapUpdate,
		Columns:        configMapColumns,
		Row:            rowFunc(len(configMapColumns)-1, configMapRow),
	}
}

// validateConfigMap checks keys (IsConfigMapKey), that no key is in both data
// and binaryData, and that the total size is at most 1 MiB.
func validateConfigMap(obj runtime.Object) field.ErrorList {
	cm, ok := as[corev1.ConfigMap](obj)
	if !ok {
		return wrongType(obj, "*v1.ConfigMap")
	}
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(cm.Data) {
		p := field.NewPath("data").Key(k)
		errs = append(errs, validateConfigMapKey(k, p)...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(p, k, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		errs = append(errs, validateConfigMapKey(k, field.NewPath("binaryData").Key(k))...)
		total += len(cm.BinaryData[k])
	}
	if total > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

// validateConfigMapUpdate keeps data, binaryData and immutable once immutable is true.
func validateConfigMapUpdate(obj, old runtime.Object) field.ErrorList {
	cm, ok1 := as[corev1.ConfigMap](obj)
	o, ok2 := as[corev1.ConfigMap](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.ConfigMap")
	}
	if o.Immutable == nil || !*o.Immutable {
		return nil
	}
	var errs field.ErrorList
	if cm.Immutable == nil || !*cm.Immutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableMsg))
	}
	if !reflect.DeepEqual(cm.Data, o.Data) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), immutableMsg))
	}
	if !reflect.DeepEqual(cm.BinaryData, o.BinaryData) {
		errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableMsg))
	}
	return errs
}

// validateConfigMapKey checks a ConfigMap or Secret key.
func validateConfigMapKey(k string, p *field.Path) field.ErrorList {
	return invalid(p, k, validation.IsConfigMapKey(k))
}

// configMapColumns are the columns of `kubectl get configmaps`.
var configMapColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
	ageColumn,
}

// configMapRow renders the number of keys and the age.
func configMapRow(cm *corev1.ConfigMap, now time.Time) []interface{} {
	return []interface{}{int64(len(cm.Data) + len(cm.BinaryData)), translateTimestampSince(cm.CreationTimestamp, now)}
}

// sortedKeys returns a map's keys in order, so errors come out in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
