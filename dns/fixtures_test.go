package dns

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// clusterIPService returns a Service with cluster IPs and ports.
func clusterIPService(ns, name string, ips []string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ips[0], ClusterIPs: ips, Ports: ports},
	}
}

// headlessService returns a Service with clusterIP None.
func headlessService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return clusterIPService(ns, name, []string{corev1.ClusterIPNone}, ports...)
}

// servicePort returns a Service port.
func servicePort(name string, proto corev1.Protocol, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: port}
}

// testEndpoint is an endpoint for slice: hostname may be empty, ready is
// the ready condition (nil: unset).
type testEndpoint struct {
	addr     string
	hostname string
	ready    *bool
}

// slice returns an EndpointSlice of service ns/svc.
func slice(ns, svc, name string, typ discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...testEndpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc},
		},
		AddressType: typ,
		Ports:       ports,
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.addr}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.hostname != "" {
			ep.Hostname = &e.hostname
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// slicePort returns an EndpointSlice port.
func slicePort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port}
}

func ptrTo[T any](v T) *T { return &v }

// testObjects is the cluster the answer tests query.
func testObjects() []runtime.Object {
	pg := []discoveryv1.EndpointPort{slicePort("pg", corev1.ProtocolTCP, 5432)}
	return []runtime.Object{
		clusterIPService("demo", "hello", []string{"10.96.0.20"},
			servicePort("http", corev1.ProtocolTCP, 80), servicePort("", corev1.ProtocolTCP, 9090)),
		slice("demo", "hello", "hello-1", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{slicePort("http", corev1.ProtocolTCP, 8080)},
			testEndpoint{addr: "10.42.0.10", hostname: "h-0"}),
		headlessService("demo", "db", servicePort("pg", corev1.ProtocolTCP, 5432)),
		slice("demo", "db", "db-1", discoveryv1.AddressTypeIPv4, pg,
			testEndpoint{addr: "10.42.0.21", hostname: "db-1", ready: ptrTo(true)},
			testEndpoint{addr: "10.42.0.20", hostname: "db-0", ready: ptrTo(true)},
			testEndpoint{addr: "10.42.0.23", hostname: "db-3", ready: ptrTo(false)}),
		slice("demo", "db", "db-2", discoveryv1.AddressTypeIPv4, pg,
			testEndpoint{addr: "10.42.0.22"},
			testEndpoint{addr: "10.42.0.20", hostname: "db-0"}),
		headlessService("demo", "empty"),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "ext"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "Example.COM"},
		},
		clusterIPService("demo", "dual", []string{"10.96.0.30", "fd00::30"}),
		clusterIPService("demo", "udp", []string{"10.96.0.40"}, servicePort("dns", corev1.ProtocolUDP, 53)),
		func() *corev1.Service {
			s := headlessService("demo", "all")
			s.Spec.PublishNotReadyAddresses = true
			return s
		}(),
		slice("demo", "all", "all-1", discoveryv1.AddressTypeIPv4, nil,
			testEndpoint{addr: "10.42.0.30", ready: ptrTo(false)}),
		clusterIPService("kube-system", "kube-dns", []string{"10.96.0.10"}, servicePort("dns", corev1.ProtocolUDP, 53)),
	}
}

// startCatalog returns a synced catalog over a fake clientset holding objs.
func startCatalog(t *testing.T, objs ...runtime.Object) (*catalog, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	c, err := newCatalog(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); c.factory.Shutdown() })
	c.factory.Start(ctx.Done())
	for typ, ok := range c.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("sync %v", typ)
		}
	}
	return c, client
}

// rrStrings writes records one per line, fields separated by single spaces.
func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}
