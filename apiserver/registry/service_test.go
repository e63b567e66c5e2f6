package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validService is a ClusterIP Service that passes validation once defaulted.
func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

func TestServiceDefaults(t *testing.T) {
	got := defaulted(Services(), validService())
	want := validService()
	want.Spec.Type = corev1.ServiceTypeClusterIP
	want.Spec.SessionAffinity = corev1.ServiceAffinityNone
	want.Spec.Ports[0].Protocol = corev1.ProtocolTCP
	want.Spec.Ports[0].TargetPort = intstr.FromInt32(80)
	want.Spec.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	want.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	want.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
	if d := diff(want, got); d != "" {
		t.Errorf("defaulted service (-want +got):\n%s", d)
	}

	np := validService()
	np.Spec.Type = corev1.ServiceTypeNodePort
	np.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	np.Spec.Ports[0].TargetPort = intstr.FromString("http")
	np.Spec.ClusterIP = "10.96.0.10"
	defaulted(Services(), np)
	if np.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Errorf("externalTrafficPolicy = %q", np.Spec.ExternalTrafficPolicy)
	}
	if c := np.Spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || *c.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("sessionAffinityConfig = %+v", c)
	}
	if np.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("targetPort = %v, want http", np.Spec.Ports[0].TargetPort)
	}
	if d := diff([]string{"10.96.0.10"}, np.Spec.ClusterIPs); d != "" {
		t.Errorf("clusterIPs (-want +got):\n%s", d)
	}

	headless := validService()
	headless.Spec.Selector = nil
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	defaulted(Services(), headless)
	if *headless.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyRequireDualStack || len(headless.Spec.IPFamilies) != 1 {
		t.Errorf("headless: policy %s, families %v", *headless.Spec.IPFamilyPolicy, headless.Spec.IPFamilies)
	}
}

func TestServiceValidation(t *testing.T) {
	k := Services()
	if errs := k.ValidateCreate(defaulted(k, validService())); len(errs) != 0 {
		t.Fatalf("valid service: %v", errs.ToAggregate())
	}
	cases := []struct {
		name   string
		before func(*corev1.Service)
		after  func(*corev1.Service)
		want   []string
	}{
		{name: "no ports", before: func(s *corev1.Service) { s.Spec.Ports = nil }, want: []string{"spec.ports: Required value"}},
		{name: "headless without ports", before: func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.ClusterIP = "None"
		}},
		{name: "bad type", before: func(s *corev1.Service) { s.Spec.Type = "Internal" }, want: []string{"spec.type: Unsupported value"}},
		{name: "ports", before: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{
				{Name: "http", Port: 0},
				{Port: 443, Protocol: "HTTP", TargetPort: intstr.FromString("Not_A_Name")},
				{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(70000)},
			}
		}, want: []string{
			"spec.ports[0].port: Invalid value",
			"spec.ports[0].targetPort: Invalid value", // defaulted to the port, 0
			"spec.ports[1].name: Required value",
			"spec.ports[1].protocol: Unsupported value",
			"spec.ports[1].targetPort: Invalid value",
			"spec.ports[2].name: Duplicate value",
			"spec.ports[2].targetPort: Invalid value",
		}},
		{name: "node port on ClusterIP", before: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []string{"spec.ports[0].nodePort: Forbidden"}},
		{name: "node port out of range", before: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 8080
		}, want: []string{"spec.ports[0].nodePort: Invalid value"}},
		{name: "bad cluster IP", before: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.300" },
			want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "session affinity", before: func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" },
			want: []string{"spec.sessionAffinity: Unsupported value"}},
		{name: "external name", before: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = ""
		}, want: []string{"spec.externalName: Required value"}},
		{name: "bad external name", before: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db_host.example.com"
		}, want: []string{"spec.externalName: Invalid value"}},
		{name: "name must be a DNS-1035 label", before: func(s *corev1.Service) { s.Name = "1web" },
			want: []string{"metadata.name: Invalid value"}},
		{name: "headless NodePort", before: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ClusterIP = "None"
		}, want: []string{"spec.clusterIPs[0]: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			if tc.before != nil {
				tc.before(s)
			}
			defaulted(k, s)
			if tc.after != nil {
				tc.after(s)
			}
			checkPaths(t, k.ValidateCreate(s), tc.want...)
		})
	}
}

func TestServiceClusterIPImmutable(t *testing.T) {
	k := Services()
	old := validService()
	old.Spec.ClusterIP = "10.96.0.10"
	defaulted(k, old)

	moved := deepCopy(old)
	moved.Spec.ClusterIP = "10.96.0.11"
	moved.Spec.ClusterIPs = []string{"10.96.0.11"}
	checkPaths(t, k.ValidateUpdateOf(moved, old), "spec.clusterIP: Invalid value", "spec.clusterIPs[0]: Invalid value")
	errs := k.ValidateUpdate(moved, old)
	if len(errs) == 0 || errs[0].Detail != "field is immutable" {
		t.Errorf("errors = %v, want field is immutable", errs)
	}

	// Becoming ExternalName drops the cluster IP.
	ext := deepCopy(old)
	ext.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}
	defaulted(k, ext)
	checkPaths(t, k.ValidateUpdateOf(ext, old))
}

func TestServiceRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-45 * time.Minute))
	for _, tc := range []struct {
		name string
		svc  corev1.Service
		want []interface{}
	}{
		{"cluster ip", corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports:    []corev1.ServicePort{{Port: 80, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}},
			Selector: map[string]string{"app": "web"},
		}}, []interface{}{"ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "45m", "app=web"}},
		{"node port", corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.11",
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}},
		}}, []interface{}{"NodePort", "10.96.0.11", "<none>", "80:30080/TCP", "45m", "<none>"}},
		{"load balancer pending", corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.12"},
			Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: "TCP"}},
		}}, []interface{}{"LoadBalancer", "10.96.0.12", "<pending>", "443:31443/TCP", "45m", "<none>"}},
		{"external name", corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com",
		}}, []interface{}{"ExternalName", "<none>", "db.example.com", "<none>", "45m", "<none>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.svc
			svc.CreationTimestamp = created
			if d := diff(tc.want, serviceRow(&svc, now)); d != "" {
				t.Errorf("row (-want +got):\n%s", d)
			}
		})
	}
}
