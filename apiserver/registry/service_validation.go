package registry

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateService checks a Service's spec as core/v1 does, with node ports
// limited to 30000-32767.
func validateService(obj runtime.Object) field.ErrorList {
	svc, ok := as[corev1.Service](obj)
	if !ok {
		return wrongType(obj, "*v1.Service")
	}
	s := &svc.Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	headless := len(s.ClusterIPs) > 0 && s.ClusterIPs[0] == corev1.ClusterIPNone
	if len(s.Ports) == 0 && !headless && s.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	switch s.Type {
	case corev1.ServiceTypeLoadBalancer:
		if headless {
			errs = append(errs, field.Invalid(p.Child("clusterIPs").Index(0), s.ClusterIPs[0], "may not be set to 'None' for LoadBalancer services"))
		}
		for i, port := range s.Ports {
			if port.Port == kubeletPort {
				errs = append(errs, field.Invalid(p.Child("ports").Index(i), port.Port, fmt.Sprintf("may not expose port %v externally since it is used by kubelet", kubeletPort)))
			}
		}
	case corev1.ServiceTypeNodePort:
		if headless {
			errs = append(errs, field.Invalid(p.Child("clusterIPs").Index(0), s.ClusterIPs[0], "may not be set to 'None' for NodePort services"))
		}
	case corev1.ServiceTypeExternalName:
		if len(s.ClusterIPs) > 0 || s.ClusterIP != "" {
			errs = append(errs, field.Forbidden(p.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(s.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(p.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if s.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(s.ExternalName, "."); cname == "" {
			errs = append(errs, field.Required(p.Child("externalName"), ""))
		} else {
			errs = append(errs, invalid(p.Child("externalName"), cname, validation.IsDNS1123Subdomain(cname))...)
		}
	case "":
		errs = append(errs, field.Required(p.Child("type"), ""))
	}
	if s.Type != "" && !sets.New(supportedServiceTypes...).Has(s.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, supportedServiceTypes))
	}
	errs = append(errs, validateServicePorts(s, p.Child("ports"))...)
	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(s.Selector, p.Child("selector"))...)
	}
	switch s.SessionAffinity {
	case "":
		errs = append(errs, field.Required(p.Child("sessionAffinity"), ""))
	case corev1.ServiceAffinityClientIP:
		errs = append(errs, validateClientIPAffinity(s.SessionAffinityConfig, p.Child("sessionAffinityConfig"))...)
	case corev1.ServiceAffinityNone:
		if s.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(p.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("sessionAffinity"), s.SessionAffinity, []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}))
	}
	errs = append(errs, validateClusterIPs(s, p)...)
	for i, ip := range s.ExternalIPs {
		errs = append(errs, validation.IsValidIPForLegacyField(p.Child("externalIPs").Index(i), ip, false, nil)...)
	}
	errs = append(errs, validateTrafficPolicies(s, p)...)
	return errs
}

// validateServicePorts checks each port, names (required with more than one
// port, unique DNS-1123 labels), node ports and duplicates.
func validateServicePorts(s *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	type key struct {
		proto corev1.Protocol
		port  int32
	}
	ports, nodePorts := map[key]bool{}, map[key]bool{}
	for i, sp := range s.Ports {
		pp := p.Index(i)
		if len(s.Ports) > 1 && sp.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		} else if sp.Name != "" {
			errs = append(errs, validateDNS1123Label(sp.Name, pp.Child("name"))...)
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), sp.Name))
			}
			names.Insert(sp.Name)
		}
		errs = append(errs, invalid(pp.Child("port"), sp.Port, validation.IsValidPortNum(int(sp.Port)))...)
		errs = append(errs, validateProtocol(sp.Protocol, pp.Child("protocol"))...)
		errs = append(errs, validatePortNumOrName(sp.TargetPort, pp.Child("targetPort"))...)
		if sp.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*sp.AppProtocol, pp.Child("appProtocol"))...)
		}
		if sp.NodePort != 0 {
			switch s.Type {
			case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
				if sp.NodePort < nodePortMin || sp.NodePort > nodePortMax {
					errs = append(errs, field.Invalid(pp.Child("nodePort"), sp.NodePort,
						fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", nodePortMin, nodePortMax)))
				}
			default:
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", s.Type)))
			}
			k := key{sp.Protocol, sp.NodePort}
			if nodePorts[k] {
				errs = append(errs, field.Duplicate(pp.Child("nodePort"), sp.NodePort))
			}
			nodePorts[k] = true
		}
		k := key{sp.Protocol, sp.Port}
		if ports[k] {
			errs = append(errs, field.Duplicate(pp, corev1.ServicePort{Protocol: sp.Protocol, Port: sp.Port}))
		}
		ports[k] = true
	}
	return errs
}

// validateClientIPAffinity checks the ClientIP timeout: 1 to 86400 seconds.
func validateClientIPAffinity(c *corev1.SessionAffinityConfig, p *field.Path) field.ErrorList {
	switch {
	case c == nil:
		return field.ErrorList{field.Required(p, fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP))}
	case c.ClientIP == nil:
		return field.ErrorList{field.Required(p.Child("clientIP"), fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP))}
	case c.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(p.Child("clientIP", "timeoutSeconds"), fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP))}
	case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPServiceAffinitySeconds:
		return field.ErrorList{field.Invalid(p.Child("clientIP", "timeoutSeconds"), *c.ClientIP.TimeoutSeconds,
			fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds))}
	}
	return nil
}

// validateClusterIPs checks clusterIP and clusterIPs: in step, valid IPs or
// "None" alone, at most one per family, matching ipFamilies.
func validateClusterIPs(s *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	if s.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	ipsPath := p.Child("clusterIPs")
	if s.ClusterIP != "" {
		if len(s.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if s.ClusterIPs[0] != s.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(s.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range s.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(p.Child("ipFamilies").Index(i), f, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}))
		}
		if seen.Has(f) {
			errs = append(errs, field.Duplicate(p.Child("ipFamilies").Index(i), f))
		}
		seen.Insert(f)
	}
	if pol := s.IPFamilyPolicy; pol != nil {
		switch *pol {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(p.Child("ipFamilyPolicy"), *pol, []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}))
		}
	}
	invalid := false
	for i, ip := range s.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(s.ClusterIPs) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		if e := validation.IsValidIPForLegacyField(ipsPath.Index(i), ip, false, nil); len(e) != 0 {
			invalid = true
			errs = append(errs, e...)
		}
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(s.ClusterIPs) == 2 && isIPv6(s.ClusterIPs[0]) == isIPv6(s.ClusterIPs[1]) {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may specify no more than one IP for each IP family"))
	}
	if len(s.ClusterIPs) > 0 && s.ClusterIPs[0] != corev1.ClusterIPNone {
		for i, ip := range s.ClusterIPs {
			if i >= len(s.IPFamilies) {
				break
			}
			if s.IPFamilies[i] == corev1.IPv4Protocol && isIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if s.IPFamilies[i] == corev1.IPv6Protocol && !isIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// validateTrafficPolicies checks internal and external traffic policies.
func validateTrafficPolicies(s *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	external := s.Type == corev1.ServiceTypeLoadBalancer || s.Type == corev1.ServiceTypeNodePort ||
		(s.Type == corev1.ServiceTypeClusterIP && len(s.ExternalIPs) > 0)
	switch pol := s.ExternalTrafficPolicy; {
	case pol == "" && external:
		errs = append(errs, field.Required(p.Child("externalTrafficPolicy"), ""))
	case pol != "" && !external:
		errs = append(errs, field.Invalid(p.Child("externalTrafficPolicy"), pol, "may only be set for externally-accessible services"))
	case pol != "" && pol != corev1.ServiceExternalTrafficPolicyCluster && pol != corev1.ServiceExternalTrafficPolicyLocal:
		errs = append(errs, field.NotSupported(p.Child("externalTrafficPolicy"), pol, []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}))
	}
	if pol := s.InternalTrafficPolicy; pol != nil && *pol != corev1.ServiceInternalTrafficPolicyCluster && *pol != corev1.ServiceInternalTrafficPolicyLocal {
		errs = append(errs, field.NotSupported(p.Child("internalTrafficPolicy"), *pol, []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
	}
	if s.InternalTrafficPolicy == nil && (s.Type == corev1.ServiceTypeClusterIP || s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Required(p.Child("internalTrafficPolicy"), "must be specified"))
	}
	return errs
}

// isIPv6 reports an IPv6 address.
func isIPv6(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is6() && !a.Is4In6()
}
