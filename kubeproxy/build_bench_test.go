package kubeproxy

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// BenchmarkBuild builds the rule set of 10,000 Services with 3 endpoints
// each and diffs it against the last one, with Build and with a Builder
// that has every Service cached (bench/kubeproxy.go has the figures beside
// their baselines; this is for profiling).
func BenchmarkBuild(b *testing.B) {
	in := Input{Node: Node{Name: "n", ClusterCIDR: netip.MustParsePrefix("10.42.0.0/16")}}
	name, port := "http", int32(8080)
	for i := range 10000 {
		svc := fmt.Sprintf("svc-%05d", i)
		in.Services = append(in.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: svc},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/256, i%256),
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: svc, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		}
		for e := range 3 {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.42.%d.%d", (i*3+e)/250%256, 1+(i*3+e)%250)}})
		}
		in.Slices = append(in.Slices, s)
	}
	for i, s := range in.Services {
		s.UID, s.ResourceVersion = types.UID(fmt.Sprint("svc", i)), "1"
		in.Slices[i].UID, in.Slices[i].ResourceVersion = types.UID(fmt.Sprint("slice", i)), "1"
	}
	prev := Build(in)
	b.Run("Build", func(b *testing.B) {
		for b.Loop() {
			if Build(in).Update(prev) != nil {
				b.Fatal("rule set changed")
			}
		}
	})
	b.Run("Builder", func(b *testing.B) {
		var builder Builder
		builder.Build(in)
		for b.Loop() {
			if builder.Build(in).Update(prev) != nil {
				b.Fatal("rule set changed")
			}
		}
	})
}
