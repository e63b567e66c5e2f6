package storage

import (
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
)

// Encode returns obj as stored: JSON with apiVersion and kind, without resourceVersion.
// It sets obj's kind and clears its resourceVersion.
func Encode(k *registry.Kind, obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	obj.GetObjectKind().SetGroupVersionKind(k.GroupVersionKind())
	return json.Marshal(obj)
}

// Decode parses a stored value and sets its resourceVersion to rev.
func Decode(k *registry.Kind, data []byte, rev int64) (runtime.Object, error) {
	obj := k.New()
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", k.Resource, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(k.GroupVersionKind())
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return obj, nil
}

// ParseResourceVersion parses a resourceVersion string; "" is 0.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return n, nil
}
