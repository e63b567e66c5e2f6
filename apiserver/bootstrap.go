package apiserver

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// systemNamespaces exist from the start, as in Kubernetes.
var systemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// DNSServiceName is the Service of the cluster DNS in kube-system, as
// kubeadm and k3s name it.
const DNSServiceName = "kube-dns"

// bootstrap creates the system namespaces and the kube-dns Service when
// they are missing.
func (s *Server) bootstrap(ctx context.Context) error {
	req := &request{kind: s.nsKind()}
	for _, name := range systemNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := s.createObject(ctx, req, ns, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	svc, err := dnsService(s.opts.ServiceCIDR)
	if err != nil {
		return err
	}
	req = &request{kind: s.lookup("", "v1", "services")}
	if _, err := s.store(req.kind).Get(ctx, svc.Namespace, svc.Name); err == nil {
		return nil // kept as it is, or as someone changed it
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	if _, err := s.createObject(ctx, req, svc, false); err != nil {
		if _, gerr := s.store(req.kind).Get(ctx, svc.Namespace, svc.Name); gerr == nil {
			return nil // another server made it at the same time
		}
		return fmt.Errorf("create service %s/%s: %w", metav1.NamespaceSystem, DNSServiceName, err)
	}
	return nil
}

// dnsService is the kube-dns Service: the tenth address of the Service
// range (10.96.0.10 by default, as kubeadm's), DNS over UDP and TCP. It has
// no selector and no endpoints: every node's DNS server answers on this
// address itself, as NodeLocal DNSCache does, so queries never leave the
// node.
func dnsService(serviceCIDR string) (*corev1.Service, error) {
	p, err := parseCIDR("--service-cidr", serviceCIDR)
	if err != nil {
		return nil, err
	}
	ip := p.Addr().As4()
	ip[3] += 10
	addr := netip.AddrFrom4(ip)
	if !p.Contains(addr) {
		return nil, fmt.Errorf("--service-cidr %s is too small for the DNS Service address %s", serviceCIDR, addr)
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: DNSServiceName, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: addr.String(),
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			},
		},
	}, nil
}
