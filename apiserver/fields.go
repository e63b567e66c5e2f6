package apiserver

import (
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// structField returns the named top-level field of an object (Spec, Status), or an
// invalid Value when the kind has none.
func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// copyField sets dst's named field to src's.
func copyField(dst, src runtime.Object, name string) {
	d, s := structField(dst, name), structField(src, name)
	if d.IsValid() && s.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// fieldEqual says whether a and b agree on the named field (true when neither has it).
func fieldEqual(a, b runtime.Object, name string) bool {
	x, y := structField(a, name), structField(b, name)
	if !x.IsValid() || !y.IsValid() {
		return true
	}
	return apiequality.Semantic.DeepEqual(x.Interface(), y.Interface())
}
