package registry

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
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
		PrepareForCreate: func(obj runtime.Object) { clearStatus[corev1.Service](obj, func(s *corev1.Service) { s.Status = corev1.ServiceStatus{} }) },
		PrepareForUpdate: prepareServiceForUpdate,
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

// prepareServiceForUpdate keeps the cluster IPs and node ports the server
// allocated when an update leaves them out, as Kubernetes does.
func prepareServiceForUpdate(obj, old runtime.Object) {
	svc, ok1 := as[corev1.Service](obj)
	o, ok2 := as[corev1.Service](old)
	if !ok1 || !ok2 {
		return
	}
	needsClusterIP := func(s *corev1.Service) bool { return s.Spec.Type != corev1.ServiceTypeExternalName }
	if needsClusterIP(svc) && needsClusterIP(o) {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = o.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP == o.Spec.ClusterIP {
			svc.Spec.ClusterIPs = o.Spec.ClusterIPs
		}
	}
	needsNodePort := func(s *corev1.Service) bool {
		return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
	}
	if needsNodePort(svc) && needsNodePort(o) {
		for i := range svc.Spec.Ports {
			np := &svc.Spec.Ports[i]
			if np.NodePort != 0 {
				continue
			}
			for _, op := range o.Spec.Ports {
				if op.Port == np.Port && op.Protocol == np.Protocol || (np.Name != "" && op.Name == np.Name) {
					np.NodePort = op.NodePort
					break
				}
			}
		}
		if svc.Spec.HealthCheckNodePort == 0 {
			svc.Spec.HealthCheckNodePort = o.Spec.HealthCheckNodePort
		}
	}
}

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
			for _, msg := range validation.IsDNS1123Subdomain(cname) {
				errs = append(errs, field.Invalid(p.Child("externalName"), cname, msg))
			}
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
		for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
			errs = append(errs, field.Invalid(pp.Child("port"), sp.Port, msg))
		}
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

// serviceColumns are the columns of `kubectl get services`.
var serviceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["type"]},
	{Name: "Cluster-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]},
	{Name: "External-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]},
	{Name: "Port(s)", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["ports"]},
	ageColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ServiceSpec{}.SwaggerDoc()["selector"]},
}

// serviceRow renders type, cluster IP, external IP, ports ("80:30080/TCP"),
// age and selector.
func serviceRow(svc *corev1.Service, now time.Time) []interface{} {
	internalIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		internalIP = svc.Spec.ClusterIPs[0]
	} else if svc.Spec.ClusterIP != "" {
		internalIP = svc.Spec.ClusterIP
	}
	ports := servicePortString(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return []interface{}{
		string(svc.Spec.Type), internalIP, serviceExternalIP(svc), ports,
		translateTimestampSince(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
	}
}

// servicePortString renders ports as "80/TCP" or "80:30080/TCP", comma separated.
func servicePortString(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

// serviceExternalIP renders the External-IP column. Tables are always wide,
// so load balancer addresses are not clipped.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lb := loadBalancerStatus(svc.Status.LoadBalancer)
		if len(svc.Spec.ExternalIPs) > 0 {
			var out []string
			if lb != "" {
				out = append(out, strings.Split(lb, ",")...)
			}
			return strings.Join(append(out, svc.Spec.ExternalIPs...), ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerStatus joins the sorted, unique ingress IPs or hostnames.
func loadBalancerStatus(s corev1.LoadBalancerStatus) string {
	set := sets.New[string]()
	for _, in := range s.Ingress {
		if in.IP != "" {
			set.Insert(in.IP)
		} else if in.Hostname != "" {
			set.Insert(in.Hostname)
		}
	}
	list := set.UnsortedList()
	sort.Strings(list)
	return strings.Join(list, ",")
}
