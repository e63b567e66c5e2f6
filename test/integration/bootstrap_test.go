package integration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
)

// TestBootstrapDNSService: a new server has the kube-dns Service at the
// tenth address of its Service range, selector-less, DNS over UDP and TCP;
// a restart keeps it (same UID) rather than failing on it.
func TestBootstrapDNSService(t *testing.T) {
	dir := t.TempDir()
	opts := apiserver.Options{DataDir: dir, ServiceCIDR: "10.100.0.0/24"}
	ts := testserver.Start(t, opts)
	get := func(ts *testserver.Server) *corev1.Service {
		t.Helper()
		svc, err := ts.Client.CoreV1().Services(metav1.NamespaceSystem).Get(ctx(t), apiserver.DNSServiceName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get kube-dns: %v", err)
		}
		return svc
	}
	svc := get(ts)
	if svc.Spec.ClusterIP != "10.100.0.10" || len(svc.Spec.Selector) != 0 || len(svc.Spec.Ports) != 2 {
		t.Fatalf("kube-dns: clusterIP %s, selector %v, ports %+v; want 10.100.0.10, none, dns and dns-tcp", svc.Spec.ClusterIP, svc.Spec.Selector, svc.Spec.Ports)
	}
	if err := ts.Stop(); err != nil {
		t.Fatal(err)
	}
	again := get(testserver.Start(t, opts))
	if again.UID != svc.UID {
		t.Errorf("kube-dns re-created across a restart: uid %s, then %s", svc.UID, again.UID)
	}
}
