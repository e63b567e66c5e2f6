package registry

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service port limits.
const (
	// nodePortMin and nodePortMax bound node ports, as kube-apiserver's default
	// --service-node-port-range does.
	nodePortMin = 30000
	nodePortMax = 32767
	// kubeletPort may not be exposed by a LoadBalancer.
	kubeletPort = 10250
	// maxClientIPServiceAffinitySeconds bounds the ClientIP affinity timeout.
	maxClientIPServiceAffinitySeconds = 86400
)

var supportedServiceTypes = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}

// Services describes service (Service).
func Services() *Kind {
	return &Kind{
		GroupVersion:     CoreV1,
		Kind:             "Service",
		Resource:         "services",
		Singular:         "service",
		ShortNames:       []string{"svc"},
		Categories:       []string{"all"},
		Namespaced:       true,
		HasStatus:        true,
		Generation:       false,
		New:              func() runtime.Object { return &corev1.Service{} },
		NewList:          func() runtime.Object { return &corev1.ServiceList{} },
		Default:          defaultService,
		Validate:         validateService,
		ValidateUpdate:   validateServiceUpdate,
		PrepareForCreate: resetStatus(func(s *corev1.Service) { s.Status = corev1.ServiceStatus{} }),
		Fields:           serviceFields,
		Columns:          serviceColumns,
		Row:              rowFunc(len(serviceColumns)-1, serviceRow),
	}
}

// defaultService sets core/v1's Service defaults: type ClusterIP,
// sessionAffinity None (ClientIP gets a 10800s timeout), TCP ports whose
// targetPort is the port, internalTrafficPolicy Cluster, externalTrafficPolicy
// Cluster when externally reachable, allocateLoadBalancerNodePorts for
// LoadBalancers; then what the Service registry adds: clusterIP and
// clusterIPs kept in step, ipFamilies [IPv4] and ipFamilyPolicy SingleStack
// (RequireDualStack for a headless Service without selector).
func defaultService(obj runtime.Object) {
	svc, ok := as[corev1.Service](obj)
	if !ok {
		return
	}
	s := &svc.Spec
	if s.SessionAffinity == "" {
		s.SessionAffinity = corev1.ServiceAffinityNone
	}
	if s.SessionAffinity == corev1.ServiceAffinityNone {
		s.SessionAffinityConfig = nil
	}
	if s.Type == "" {
		s.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Ports {
		sp := &s.Ports[i]
		if sp.Protocol == "" {
			sp.Protocol = corev1.ProtocolTCP
		}
		if sp.TargetPort == intstr.FromInt32(0) || sp.TargetPort == intstr.FromString("") {
			sp.TargetPort = intstr.FromInt32(sp.Port)
		}
	}
	external := s.Type == corev1.ServiceTypeLoadBalancer || s.Type == corev1.ServiceTypeNodePort ||
		(s.Type == corev1.ServiceTypeClusterIP && len(s.ExternalIPs) > 0)
	if external && s.ExternalTrafficPolicy == "" {
		s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if s.InternalTrafficPolicy == nil && s.Type != corev1.ServiceTypeExternalName {
		s.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if s.Type == corev1.ServiceTypeLoadBalancer && s.AllocateLoadBalancerNodePorts == nil {
		s.AllocateLoadBalancerNodePorts = ptrTo(true)
	}
	if s.SessionAffinity == corev1.ServiceAffinityClientIP &&
		(s.SessionAffinityConfig == nil || s.SessionAffinityConfig.ClientIP == nil || s.SessionAffinityConfig.ClientIP.TimeoutSeconds == nil) {
		s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds)}}
	}
	if s.Type == corev1.ServiceTypeExternalName {
		return
	}
	if s.ClusterIP != "" && len(s.ClusterIPs) == 0 {
		s.ClusterIPs = []string{s.ClusterIP}
	}
	if s.ClusterIP == "" && len(s.ClusterIPs) > 0 {
		s.ClusterIP = s.ClusterIPs[0]
	}
	if s.IPFamilyPolicy == nil {
		if s.ClusterIP == corev1.ClusterIPNone && len(s.Selector) == 0 {
			s.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		} else {
			s.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}
	}
	if len(s.IPFamilies) == 0 {
		for _, ip := range s.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				fam := corev1.IPv4Protocol
				if a.Is6() && !a.Is4In6() {
					fam = corev1.IPv6Protocol
				}
				s.IPFamilies = append(s.IPFamilies, fam)
			}
		}
		if len(s.IPFamilies) == 0 {
			s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
	}
}

// validateServiceUpdate keeps allocated cluster IPs: a set clusterIPs entry
// may not change, except when the Service is or becomes ExternalName.
func validateServiceUpdate(obj, old runtime.Object) field.ErrorList {
	svc, ok1 := as[corev1.Service](obj)
	o, ok2 := as[corev1.Service](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.Service")
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || o.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ipsPath := field.NewPath("spec", "clusterIPs")
	var errs field.ErrorList
	if o.Spec.ClusterIP != "" && svc.Spec.ClusterIP != o.Spec.ClusterIP {
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIP"), svc.Spec.ClusterIP, "field is immutable"))
	}
	newIPs, oldIPs := svc.Spec.ClusterIPs, o.Spec.ClusterIPs
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
		} else if newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	case len(oldIPs) > 0 && newIPs[0] != oldIPs[0]:
		errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
	}
	return errs
}

// serviceFields adds spec.clusterIP and spec.type to the selectable fields.
func serviceFields(obj runtime.Object) fields.Set {
	svc, ok := as[corev1.Service](obj)
	if !ok {
		return nil
	}
	return fields.Set{"spec.clusterIP": svc.Spec.ClusterIP, "spec.type": string(svc.Spec.Type)}
}
