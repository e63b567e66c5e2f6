package registry

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConfigMapValidation(t *testing.T) {
	k := ConfigMaps()
	meta := metav1.ObjectMeta{Name: "web", Namespace: "default"}
	for _, tc := range []struct {
		name string
		cm   *corev1.ConfigMap
		want []string
	}{
		{"valid", &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"app.yaml": "a: 1", "KEY_1": "x"},
			BinaryData: map[string][]byte{"logo.png": {1, 2}}}, nil},
		{"bad keys", &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"a/b": "x", "..": "y"},
			BinaryData: map[string][]byte{"c d": nil}}, []string{
			"data[a/b]: Invalid value", "data[..]: Invalid value", "binaryData[c d]: Invalid value"}},
		{"key in both", &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}},
			[]string{"data[k]: Invalid value"}},
		{"too large", &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"big": strings.Repeat("x", corev1.MaxSecretSize+1)}},
			[]string{"[]: Too long"}},
		{"no namespace", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, []string{"metadata.namespace: Required value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkPaths(t, k.ValidateCreate(tc.cm), tc.want...)
		})
	}
}

func TestConfigMapImmutable(t *testing.T) {
	k := ConfigMaps()
	old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Data: map[string]string{"k": "v"}, Immutable: ptrTo(true)}
	same := deepCopy(old)
	same.Labels = map[string]string{"a": "b"}
	checkPaths(t, k.ValidateUpdateOf(same, old))

	changed := deepCopy(old)
	changed.Data["k"] = "w"
	changed.Immutable = nil
	checkPaths(t, k.ValidateUpdateOf(changed, old), "data: Forbidden", "immutable: Forbidden")

	mutable := deepCopy(old)
	mutable.Immutable = ptrTo(false)
	next := deepCopy(mutable)
	next.Data["k"] = "w"
	checkPaths(t, k.ValidateUpdateOf(next, mutable))
}

func TestConfigMapRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Data: map[string]string{"a": "", "b": ""}, BinaryData: map[string][]byte{"c": nil}}
	if d := diff([]interface{}{int64(3), "60m"}, configMapRow(cm, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}
