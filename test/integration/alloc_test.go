package integration

import (
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
)

func nodePortService(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
	}
}

// TestAllocationsConcurrentAndAcrossRestart: concurrent creates of NodePort Services
// on a small range never get the same ClusterIP or NodePort; allocations survive a
// restart; a deleted Service frees its ports; taken or out-of-range values are 422.
func TestAllocationsConcurrentAndAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	opts := apiserver.Options{DataDir: dir, ServiceCIDR: "10.100.0.0/26", NodePortRange: "30000-30099"}
	ts := testserver.Start(t, opts)
	ns := testNamespace(t, ts)
	c := ctx(t)
	const n = 30 // 60 of 100 ports, 30 of 61 IPs
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := ts.Client.CoreV1().Services(ns).Create(c, nodePortService(ns, fmt.Sprintf("s%d", i)), metav1.CreateOptions{})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent create: %v", err)
		}
	}
	checkUnique := func(ts *testserver.Server, want int) []corev1.Service {
		l, err := ts.Client.CoreV1().Services(ns).List(c, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ips, ports := map[string]string{}, map[int32]string{}
		for _, s := range l.Items {
			if prev, dup := ips[s.Spec.ClusterIP]; dup {
				t.Errorf("ClusterIP %s given to %s and %s", s.Spec.ClusterIP, prev, s.Name)
			}
			ips[s.Spec.ClusterIP] = s.Name
			for _, p := range s.Spec.Ports {
				if p.NodePort < 30000 || p.NodePort > 30099 {
					t.Errorf("%s: NodePort %d out of range", s.Name, p.NodePort)
				}
				if prev, dup := ports[p.NodePort]; dup {
					t.Errorf("NodePort %d given to %s and %s", p.NodePort, prev, s.Name)
				}
				ports[p.NodePort] = s.Name
			}
		}
		if len(l.Items) != want {
			t.Errorf("%d services, want %d", len(l.Items), want)
		}
		return l.Items
	}
	before := checkUnique(ts, n)

	ts.Stop()
	ts = testserver.Start(t, opts)
	for i := n; i < n+10; i++ {
		if _, err := ts.Client.CoreV1().Services(ns).Create(c, nodePortService(ns, fmt.Sprintf("s%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create after restart: %v", err)
		}
	}
	after := checkUnique(ts, n+10)
	kept := map[string]string{}
	for _, s := range after {
		kept[s.Name] = s.Spec.ClusterIP
	}
	for _, s := range before {
		if kept[s.Name] != s.Spec.ClusterIP {
			t.Errorf("%s: ClusterIP %s before the restart, %s after", s.Name, s.Spec.ClusterIP, kept[s.Name])
		}
	}

	// A taken NodePort is refused; after the holder is deleted it can be had.
	taken := before[0].Spec.Ports[0].NodePort
	want := nodePortService(ns, "wants-port")
	want.Spec.Ports[0].NodePort = taken
	if _, err := ts.Client.CoreV1().Services(ns).Create(c, want, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("taken NodePort: %v, want Invalid", err)
	}
	if err := ts.Client.CoreV1().Services(ns).Delete(c, before[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.Client.CoreV1().Services(ns).Create(c, want, metav1.CreateOptions{}); err != nil || got.Spec.Ports[0].NodePort != taken {
		t.Fatalf("freed NodePort: %v", err)
	}
	outside := nodePortService(ns, "outside")
	outside.Spec.ClusterIP = "10.200.0.1"
	if _, err := ts.Client.CoreV1().Services(ns).Create(c, outside, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("ClusterIP outside the range: %v, want Invalid", err)
	}
	// Switching to ClusterIP releases the NodePorts; they can be taken again.
	svc, _ := ts.Client.CoreV1().Services(ns).Get(c, "s1", metav1.GetOptions{})
	freed := svc.Spec.Ports[0].NodePort
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	if _, err := ts.Client.CoreV1().Services(ns).Update(c, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	again := nodePortService(ns, "again")
	again.Spec.Ports[0].NodePort = freed
	if _, err := ts.Client.CoreV1().Services(ns).Create(c, again, metav1.CreateOptions{}); err != nil {
		t.Fatalf("NodePort freed by a type change: %v", err)
	}
}

// TestNodePodCIDRs: each node gets its own /24 of the cluster CIDR.
func TestNodePodCIDRs(t *testing.T) {
	c := ctx(t)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		n, err := shared.Client.CoreV1().Nodes().Create(c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cidr-node-%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { shared.Client.CoreV1().Nodes().Delete(c, n.Name, metav1.DeleteOptions{}) })
		if n.Spec.PodCIDR == "" || seen[n.Spec.PodCIDR] {
			t.Fatalf("node %s podCIDR %q", n.Name, n.Spec.PodCIDR)
		}
		seen[n.Spec.PodCIDR] = true
	}
}
