package registry

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLease(t *testing.T) {
	k := Leases()
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptrTo("node-1"), LeaseDurationSeconds: ptrTo(int32(40))},
	}
	checkPaths(t, k.ValidateCreate(l))

	bad := deepCopy(l)
	bad.Spec.LeaseDurationSeconds = ptrTo(int32(0))
	bad.Spec.LeaseTransitions = ptrTo(int32(-1))
	bad.Spec.PreferredHolder = ptrTo("node-2")
	checkPaths(t, k.ValidateCreate(bad),
		"spec.leaseDurationSeconds: Invalid value", "spec.leaseTransitions: Invalid value", "spec.preferredHolder: Forbidden")

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	l.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	if d := diff([]interface{}{"node-1", "3h"}, leaseRow(l, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}
