package leader

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
)

// TestLeaseNamesTheLeader: the Lease kube-system/berth-leader names the
// leader, and a change of leader counts as a transition.
func TestLeaseNamesTheLeader(t *testing.T) {
	ts := testserver.Start(t, apiserver.Options{})
	holder := func() (string, int32) {
		l, err := ts.Client.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), LeaseName, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || l.Spec.LeaseTransitions == nil {
			return "", -1
		}
		return *l.Spec.HolderIdentity, *l.Spec.LeaseTransitions
	}
	run := func(id string) *candidate {
		return start(t, ts.EtcdClient(), id, nil, nil, func(o *Options) { o.Kube = ts.Client })
	}
	a := run("a")
	wait(t, a.terms, "a to lead")
	eventually(t, "the Lease to name a", func() bool { h, n := holder(); return h == "a" && n == 0 })
	b := run("b")
	eventually(t, "b to observe a", func() bool { return b.el.Leader() == "a" })
	a.cancel()
	wait(t, b.terms, "b to lead")
	eventually(t, "the Lease to name b", func() bool { h, n := holder(); return h == "b" && n == 1 })
}
