package registry

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validSlice is an IPv4 EndpointSlice of Service web.
func validSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc12", Namespace: "default", Labels: map[string]string{"kubernetes.io/service-name": "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)}, NodeName: ptrTo("node-1")},
			{Addresses: []string{"10.244.0.6"}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptrTo("http"), Port: ptrTo(int32(8080))}},
	}
}

func TestEndpointSlice(t *testing.T) {
	k := EndpointSlices()
	s := defaulted(k, validSlice())
	if *s.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("protocol = %s", *s.Ports[0].Protocol)
	}
	if s.Endpoints[1].Conditions.Ready != nil {
		t.Errorf("conditions were defaulted")
	}
	checkPaths(t, k.ValidateCreate(s))

	bad := deepCopy(s)
	bad.AddressType = ""
	checkPaths(t, k.ValidateCreate(bad), "addressType: Required value")

	bad = deepCopy(s)
	bad.Endpoints[0].Addresses = []string{"fe80::1", "127.0.0.1", "not-an-ip"}
	bad.Endpoints[1].Addresses = nil
	bad.Ports = append(bad.Ports, discoveryv1.EndpointPort{Name: ptrTo("http"), Protocol: ptrTo(corev1.Protocol("ICMP"))})
	checkPaths(t, k.ValidateCreate(bad),
		"endpoints[0].addresses[0]: Invalid value",
		"endpoints[0].addresses[1]: Invalid value",
		"endpoints[0].addresses[2]: Invalid value",
		"endpoints[1].addresses: Required value",
		"ports[1].name: Duplicate value",
		"ports[1].protocol: Unsupported value",
	)

	many := deepCopy(s)
	many.Endpoints = make([]discoveryv1.Endpoint, 1001)
	for i := range many.Endpoints {
		many.Endpoints[i].Addresses = []string{fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}
	}
	checkPaths(t, k.ValidateCreate(many), "endpoints: Too many")

	retyped := deepCopy(s)
	retyped.AddressType = discoveryv1.AddressTypeFQDN
	retyped.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"web.example.com"}}}
	checkPaths(t, k.ValidateUpdateOf(retyped, s), "addressType: Invalid value")

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
	s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.244.0.7"}}, discoveryv1.Endpoint{Addresses: []string{"10.244.0.8"}})
	want := []interface{}{"IPv4", "8080", "10.244.0.5,10.244.0.6,10.244.0.7 + 1 more...", "60s"}
	if d := diff(want, endpointSliceRow(s, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	empty := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4, ObjectMeta: metav1.ObjectMeta{CreationTimestamp: s.CreationTimestamp}}
	if d := diff([]interface{}{"IPv4", "<unset>", "<unset>", "60s"}, endpointSliceRow(empty, now)); d != "" {
		t.Errorf("empty row (-want +got):\n%s", d)
	}
}
