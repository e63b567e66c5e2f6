package registry

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// EndpointSlice limits, as Kubernetes sets them.
const (
	maxEndpoints          = 1000
	maxEndpointAddresses  = 100
	maxEndpointPorts      = 20000
	maxTopologyLabels     = 16
	maxHintsPerEndpoint   = 8
	endpointSliceMaxShown = 3
)

var supportedAddressTypes = []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}

// EndpointSlices describes endpointslice (EndpointSlice).
func EndpointSlices() *Kind {
	return &Kind{
		GroupVersion:   DiscoveryV1,
		Kind:           "EndpointSlice",
		Resource:       "endpointslices",
		Singular:       "endpointslice",
		ShortNames:     nil,
		Categories:     nil,
		Namespaced:     true,
		HasStatus:      false,
		Generation:     false,
		New:            func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:        func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Default:        defaultEndpointSlice,
		Validate:       validateEndpointSlice,
		ValidateUpdate: validateEndpointSliceUpdate,
		Columns:        endpointSliceColumns,
		Row:            rowFunc(len(endpointSliceColumns)-1, endpointSliceRow),
	}
}

// defaultEndpointSlice gives ports an empty name and protocol TCP, as
// discovery/v1 does. Endpoint conditions are left as set.
func defaultEndpointSlice(obj runtime.Object) {
	s, ok := as[discoveryv1.EndpointSlice](obj)
	if !ok {
		return
	}
	for i := range s.Ports {
		if s.Ports[i].Name == nil {
			s.Ports[i].Name = ptrTo("")
		}
		if s.Ports[i].Protocol == nil {
			s.Ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
		}
	}
}

// validateEndpointSlice checks the address type, at most 1000 endpoints with
// 1-100 addresses of that type each, and the ports.
func validateEndpointSlice(obj runtime.Object) field.ErrorList {
	s, ok := as[discoveryv1.EndpointSlice](obj)
	if !ok {
		return wrongType(obj, "*v1.EndpointSlice")
	}
	var errs field.ErrorList
	atPath := field.NewPath("addressType")
	switch s.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(atPath, ""))
	default:
		errs = append(errs, field.NotSupported(atPath, s.AddressType, supportedAddressTypes))
	}
	errs = append(errs, validateEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	errs = append(errs, validateEndpointPorts(s.Ports, field.NewPath("ports"))...)
	return errs
}

// validateEndpoints checks each endpoint's addresses, node name, hostname,
// topology labels and hints.
func validateEndpoints(endpoints []discoveryv1.Endpoint, at discoveryv1.AddressType, p *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(p, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		ip := p.Index(i)
		ap := ip.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxEndpointAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateEndpointAddress(addr, at, ap.Index(j))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, validateNameIf(*ep.NodeName, apivalidation.NameIsDNSSubdomain, ip.Child("nodeName"))...)
		}
		if ep.Hostname != nil {
			errs = append(errs, validateDNS1123Label(*ep.Hostname, ip.Child("hostname"))...)
		}
		tp := ip.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if h := ep.Hints; h != nil && len(h.ForZones) > maxHintsPerEndpoint {
			errs = append(errs, field.TooMany(ip.Child("hints", "forZones"), len(h.ForZones), maxHintsPerEndpoint))
		}
	}
	return errs
}

// validateEndpointAddress checks an address against the slice's address type.
func validateEndpointAddress(addr string, at discoveryv1.AddressType, p *field.Path) field.ErrorList {
	switch at {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return field.ErrorList{field.Invalid(p, addr, "must be a valid IP address")}
		}
		if at == discoveryv1.AddressTypeIPv4 && !a.Is4() {
			return field.ErrorList{field.Invalid(p, addr, "must be a valid IPv4 address")}
		}
		if at == discoveryv1.AddressTypeIPv6 && !a.Is6() {
			return field.ErrorList{field.Invalid(p, addr, "must be a valid IPv6 address")}
		}
		var errs field.ErrorList
		if a.IsUnspecified() {
			errs = append(errs, field.Invalid(p, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
		}
		if a.IsLoopback() {
			errs = append(errs, field.Invalid(p, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
		}
		if a.IsLinkLocalUnicast() {
			errs = append(errs, field.Invalid(p, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
		}
		if a.IsLinkLocalMulticast() {
			errs = append(errs, field.Invalid(p, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
		}
		return errs
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(p, addr)
	}
	return nil
}

// validateEndpointPorts checks port names (unique DNS-1123 labels), protocols
// and app protocols.
func validateEndpointPorts(ports []discoveryv1.EndpointPort, p *field.Path) field.ErrorList {
	if len(ports) > maxEndpointPorts {
		return field.ErrorList{field.TooMany(p, len(ports), maxEndpointPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		pp := p.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, validateDNS1123Label(name, pp.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(pp.Child("name"), name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(pp.Child("protocol"), ""))
		} else {
			errs = append(errs, validateProtocol(*port.Protocol, pp.Child("protocol"))...)
		}
		if port.Port != nil {
			errs = append(errs, invalid(pp.Child("port"), *port.Port, validation.IsValidPortNum(int(*port.Port)))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*port.AppProtocol, pp.Child("appProtocol"))...)
		}
	}
	return errs
}

// validateEndpointSliceUpdate keeps addressType immutable.
func validateEndpointSliceUpdate(obj, old runtime.Object) field.ErrorList {
	s, ok1 := as[discoveryv1.EndpointSlice](obj)
	o, ok2 := as[discoveryv1.EndpointSlice](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.EndpointSlice")
	}
	return validateImmutable(s.AddressType, o.AddressType, field.NewPath("addressType"))
}

// endpointSliceColumns are the columns of `kubectl get endpointslices`.
var endpointSliceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "AddressType", Type: "string", Description: discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]},
	{Name: "Ports", Type: "string", Description: discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]},
	{Name: "Endpoints", Type: "string", Description: discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]},
	ageColumn,
}

// endpointSliceRow renders the address type, up to three ports and
// addresses ("+ N more..."), and the age.
func endpointSliceRow(s *discoveryv1.EndpointSlice, now time.Time) []interface{} {
	var ports []string
	for _, p := range s.Ports {
		if len(ports) == endpointSliceMaxShown {
			break
		}
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addrs []string
	count := 0
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if len(addrs) < endpointSliceMaxShown {
				addrs = append(addrs, a)
			}
			count++
		}
	}
	return []interface{}{
		string(s.AddressType),
		listWithMoreString(ports, len(s.Ports) > endpointSliceMaxShown, len(s.Ports), endpointSliceMaxShown),
		listWithMoreString(addrs, count > endpointSliceMaxShown, count, endpointSliceMaxShown),
		translateTimestampSince(s.CreationTimestamp, now),
	}
}
