package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespaceCreate(t *testing.T) {
	k := Namespaces()
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "a"}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	defaulted(k, ns)
	k.PrepareForCreate(ns)
	want := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "a", "kubernetes.io/metadata.name": "shop"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	if d := diff(want, ns); d != "" {
		t.Errorf("created namespace (-want +got):\n%s", d)
	}
	checkPaths(t, k.ValidateCreate(ns))
	if got := k.ObjectFields(ns, ns.Name, "")["status.phase"]; got != "Active" {
		t.Errorf("status.phase field = %q", got)
	}
}

func TestNamespaceValidation(t *testing.T) {
	k := Namespaces()
	for _, tc := range []struct {
		name string
		ns   *corev1.Namespace
		want []string
	}{
		{"dots not allowed", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop.prod"}}, []string{"metadata.name: Invalid value"}},
		{"namespace on a cluster-scoped kind", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}}, []string{"metadata.namespace: Forbidden"}},
		{"no name", &corev1.Namespace{}, []string{"metadata.name: Required value"}},
		{"finalizer", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}},
			[]string{"spec.finalizers[0]: Invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkPaths(t, k.ValidateCreate(defaulted(k, tc.ns)), tc.want...)
		})
	}
}

func TestNamespaceRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", CreationTimestamp: metav1.NewTime(now.Add(-400 * 24 * time.Hour))},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	if d := diff([]interface{}{"Active", "400d"}, namespaceRow(ns, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}
