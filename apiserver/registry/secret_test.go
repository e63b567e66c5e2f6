package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecretDefaults(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Data: map[string][]byte{"user": []byte("old"), "host": []byte("db")}, StringData: map[string]string{"user": "admin"}}
	defaulted(Secrets(), s)
	want := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"user": []byte("admin"), "host": []byte("db")}}
	if d := diff(want, s); d != "" {
		t.Errorf("defaulted secret (-want +got):\n%s", d)
	}
}

func TestSecretValidation(t *testing.T) {
	k := Secrets()
	meta := metav1.ObjectMeta{Name: "s", Namespace: "default"}
	for _, tc := range []struct {
		name string
		s    *corev1.Secret
		want []string
	}{
		{"opaque", &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"password": []byte("x")}}, nil},
		{"bad key", &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"a b": nil}}, []string{"data[a b]: Invalid value"}},
		{"tls without keys", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeTLS}, []string{
			"data[tls.crt]: Required value", "data[tls.key]: Required value"}},
		{"tls", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}, nil},
		{"dockerconfigjson missing", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeDockerConfigJson}, []string{
			"data[.dockerconfigjson]: Required value"}},
		{"dockerconfigjson not json", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, []string{"data[.dockerconfigjson]: Invalid value"}},
		{"basic auth", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeBasicAuth}, []string{
			"data[username]: Required value", "data[password]: Required value"}},
		{"service account token", &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeServiceAccountToken}, []string{
			"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkPaths(t, k.ValidateCreate(defaulted(k, tc.s)), tc.want...)
		})
	}
}

func TestSecretUpdate(t *testing.T) {
	k := Secrets()
	old := defaulted(k, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Data: map[string][]byte{"k": []byte("v")}, Immutable: ptrTo(true)})
	upd := deepCopy(old)
	upd.StringData = map[string]string{"k": "w"}
	upd.Type = corev1.SecretTypeBasicAuth
	defaulted(k, upd)
	checkPaths(t, k.ValidateUpdateOf(upd, old), "type: Invalid value", "data: Forbidden",
		"data[username]: Required value", "data[password]: Required value")
}

func TestSecretRowAndFields(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-26 * time.Hour))},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}
	if d := diff([]interface{}{"kubernetes.io/tls", int64(2), "26h"}, secretRow(s, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	if got := Secrets().ObjectFields(s, s.Name, s.Namespace)["type"]; got != "kubernetes.io/tls" {
		t.Errorf("type field = %q", got)
	}
}
