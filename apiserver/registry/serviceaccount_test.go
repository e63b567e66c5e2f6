package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceAccount(t *testing.T) {
	k := ServiceAccounts()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "ci"}}
	checkPaths(t, k.ValidateCreate(sa))

	bad := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Builder"}}
	checkPaths(t, k.ValidateCreate(bad), "metadata.name: Invalid value", "metadata.namespace: Required value")

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sa.CreationTimestamp = metav1.NewTime(now.Add(-48 * time.Hour))
	if d := diff([]interface{}{int64(0), "2d"}, serviceAccountRow(sa, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}
