package registry

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateObjectMeta(t *testing.T) {
	long := strings.Repeat("a", 254)
	for _, tc := range []struct {
		name string
		kind *Kind
		meta metav1.ObjectMeta
		want []string
	}{
		{"pod with dots", Pods(), metav1.ObjectMeta{Name: "web.v1", Namespace: "default"}, nil},
		{"service with dots", Services(), metav1.ObjectMeta{Name: "web.v1", Namespace: "default"}, []string{"metadata.name: Invalid value"}},
		{"service starting with a digit", Services(), metav1.ObjectMeta{Name: "1web", Namespace: "default"}, []string{"metadata.name: Invalid value"}},
		{"namespace with dots", Namespaces(), metav1.ObjectMeta{Name: "a.b"}, []string{"metadata.name: Invalid value"}},
		{"configmap name too long", ConfigMaps(), metav1.ObjectMeta{Name: long, Namespace: "default"}, []string{"metadata.name: Invalid value"}},
		{"generateName only", ConfigMaps(), metav1.ObjectMeta{GenerateName: "web-", Namespace: "default"}, []string{"metadata.name: Required value"}},
		{"namespaced kind without namespace", Secrets(), metav1.ObjectMeta{Name: "s"}, []string{"metadata.namespace: Required value"}},
		{"bad namespace", Secrets(), metav1.ObjectMeta{Name: "s", Namespace: "Prod"}, []string{"metadata.namespace: Invalid value"}},
		{"cluster-scoped kind with namespace", Nodes(), metav1.ObjectMeta{Name: "n", Namespace: "default"}, []string{"metadata.namespace: Forbidden"}},
		{"labels", ConfigMaps(), metav1.ObjectMeta{Name: "c", Namespace: "default",
			Labels: map[string]string{"example.com/ok": "v", "-bad": "v", "k": strings.Repeat("v", 64)}},
			[]string{"metadata.labels: Invalid value", "metadata.labels: Invalid value"}},
		{"annotation key", ConfigMaps(), metav1.ObjectMeta{Name: "c", Namespace: "default", Annotations: map[string]string{"a b": ""}},
			[]string{"metadata.annotations: Invalid value"}},
		{"annotations too large", ConfigMaps(), metav1.ObjectMeta{Name: "c", Namespace: "default",
			Annotations: map[string]string{"big": strings.Repeat("x", 256*1024)}}, []string{"metadata.annotations: Too long"}},
		{"finalizers", ConfigMaps(), metav1.ObjectMeta{Name: "c", Namespace: "default",
			Finalizers: []string{"kubernetes", "foregroundDeletion", "example.com/cleanup", "cleanup", "bad name/x"}},
			[]string{"metadata.finalizers[3]: Invalid value", "metadata.finalizers: Invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.meta
			checkPaths(t, ValidateObjectMeta(tc.kind, &m), tc.want...)
		})
	}
}

func TestValidateCreateAndUpdateOf(t *testing.T) {
	k := ConfigMaps()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Bad", Namespace: "default"}, Data: map[string]string{"a b": ""}}
	checkPaths(t, k.ValidateCreate(cm), "metadata.name: Invalid value", "data[a b]: Invalid value")

	old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Immutable: ptrTo(true)}
	upd := deepCopy(old)
	upd.Data = map[string]string{"a b": ""}
	checkPaths(t, k.ValidateUpdateOf(upd, old), "data[a b]: Invalid value", "data: Forbidden")

	checkPaths(t, k.ValidateCreate(nil), "metadata: Required value")
	checkPaths(t, k.ValidateCreate((*corev1.ConfigMap)(nil)), "metadata: Required value")
	checkPaths(t, k.ValidateUpdateOf(upd, nil), "data[a b]: Invalid value")
	checkPaths(t, ValidateObjectMeta(k, nil), "metadata: Required value")
	checkPaths(t, k.ValidateCreate(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}), "<nil>: Internal error")
}
