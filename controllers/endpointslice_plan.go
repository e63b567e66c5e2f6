package controllers

import (
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// endpointSliceManagedBy is the endpointslice.kubernetes.io/managed-by value of
// the slices this controller owns.
const endpointSliceManagedBy = "endpointslice-controller.k8s.io"

// endpointSliceMaxEndpoints is kube-controller-manager's --max-endpoints-per-slice
// default: a slice holds at most this many endpoints.
var endpointSliceMaxEndpoints = 100

var serviceKind = corev1.SchemeGroupVersion.WithKind("Service")

// slicePlan is what one sync writes: slices to create, updated copies of existing
// slices, and slices to delete.
type slicePlan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

// planEndpointSlices reconciles a Service's existing slices with its desired
// endpoints, changing as few slices as it can, as kube-controller-manager does:
// an endpoint stays in the slice that has it (updated if it changed), endpoints
// no longer wanted leave their slice, a slice left empty is deleted; new endpoints
// go first into slices being updated anyway, then into one existing slice that can
// take them all, then into new slices of at most max endpoints (reusing slices
// about to be deleted). A Service without endpoints keeps one empty placeholder
// slice.
func planEndpointSlices(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, desired map[string]*endpointGroup, max int) slicePlan {
	want := endpointSliceMeta(svc)
	existing = append([]*discoveryv1.EndpointSlice(nil), existing...)
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	byPorts := map[string][]*discoveryv1.EndpointSlice{}
	var plan slicePlan
	var doomed []*discoveryv1.EndpointSlice // to delete, unless reused
	for _, s := range existing {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			doomed = append(doomed, s)
			continue
		}
		byPorts[endpointPortsKey(s.Ports)] = append(byPorts[endpointPortsKey(s.Ports)], s)
	}
	for _, key := range endpointSortedKeys(byPorts) {
		if desired[key] == nil {
			doomed = append(doomed, byPorts[key]...)
		}
	}
	type chunk struct {
		ports     []discoveryv1.EndpointPort
		endpoints []discoveryv1.Endpoint
	}
	var chunks []chunk // endpoints for new slices
	for _, key := range endpointSortedKeys(desired) {
		g := desired[key]
		wanted := map[string]*discoveryv1.Endpoint{}
		for i := range g.endpoints {
			wanted[endpointKey(&g.endpoints[i])] = &g.endpoints[i]
		}
		placed := map[string]bool{}
		var updated, unchanged []*discoveryv1.EndpointSlice
		for _, s := range byPorts[key] {
			cp := s.DeepCopy()
			changed := !want.matches(cp)
			want.apply(cp)
			cp.Endpoints = nil
			for i := range s.Endpoints {
				ep := &s.Endpoints[i]
				k := endpointKey(ep)
				d, ok := wanted[k]
				if !ok || placed[k] || len(cp.Endpoints) >= max {
					changed = true
					continue
				}
				placed[k] = true
				if !equality.Semantic.DeepEqual(*ep, *d) {
					changed = true
				}
				cp.Endpoints = append(cp.Endpoints, *d)
			}
			switch {
			case len(cp.Endpoints) == 0:
				doomed = append(doomed, s)
			case changed:
				updated = append(updated, cp)
			default:
				unchanged = append(unchanged, s)
			}
		}
		var rest []discoveryv1.Endpoint
		for _, ep := range g.endpoints {
			if !placed[endpointKey(&ep)] {
				rest = append(rest, ep)
			}
		}
		for _, cp := range updated {
			n := min(max-len(cp.Endpoints), len(rest))
			cp.Endpoints = append(cp.Endpoints, rest[:n]...)
			rest = rest[n:]
		}
		if len(rest) > 0 {
			sort.SliceStable(unchanged, func(i, j int) bool { return len(unchanged[i].Endpoints) > len(unchanged[j].Endpoints) })
			for _, s := range unchanged {
				if len(s.Endpoints)+len(rest) <= max {
					cp := s.DeepCopy()
					cp.Endpoints = append(cp.Endpoints, rest...)
					updated = append(updated, cp)
					rest = nil
					break
				}
			}
		}
		for len(rest) > 0 {
			n := min(max, len(rest))
			chunks = append(chunks, chunk{g.ports, rest[:n]})
			rest = rest[n:]
		}
		plan.update = append(plan.update, updated...)
	}
	// reuse turns a slice about to be deleted into a new one (one write instead of
	// two), or creates one.
	reuse := func(ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) {
		for i, d := range doomed {
			if d.AddressType != discoveryv1.AddressTypeIPv4 {
				continue // addressType cannot change
			}
			doomed = append(doomed[:i:i], doomed[i+1:]...)
			cp := d.DeepCopy()
			want.apply(cp)
			cp.Ports, cp.Endpoints = ports, eps
			plan.update = append(plan.update, cp)
			return
		}
		plan.create = append(plan.create, want.newSlice(svc, ports, eps))
	}
	for _, c := range chunks {
		reuse(c.ports, c.endpoints)
	}
	if len(plan.create) == 0 && len(doomed) == len(existing) {
		// No slice left: keep (or make) one empty placeholder slice.
		placeholder := -1
		for i, s := range doomed {
			if len(s.Ports) == 0 && len(s.Endpoints) == 0 && s.AddressType == discoveryv1.AddressTypeIPv4 {
				placeholder = i
				break
			}
		}
		if placeholder < 0 {
			reuse([]discoveryv1.EndpointPort{}, nil)
		} else {
			s := doomed[placeholder]
			doomed = append(doomed[:placeholder:placeholder], doomed[placeholder+1:]...)
			if !want.matches(s) {
				cp := s.DeepCopy()
				want.apply(cp)
				plan.update = append(plan.update, cp)
			}
		}
	}
	plan.delete = doomed
	return plan
}

// sliceMeta is the metadata every slice of a Service carries: its labels and the
// Service as controller.
type sliceMeta struct {
	labels map[string]string
	owner  metav1.OwnerReference
}

// endpointSliceMeta is the metadata of a Service's slices: the Service's labels,
// kubernetes.io/service-name, endpointslice.kubernetes.io/managed-by and, for a
// headless Service, service.kubernetes.io/headless.
func endpointSliceMeta(svc *corev1.Service) sliceMeta {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	delete(l, corev1.IsHeadlessService)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		l[corev1.IsHeadlessService] = ""
	}
	l[discoveryv1.LabelServiceName] = svc.Name
	l[discoveryv1.LabelManagedBy] = endpointSliceManagedBy
	return sliceMeta{labels: l, owner: controllerRef(svc, serviceKind)}
}

// matches says whether a slice carries the metadata.
func (m sliceMeta) matches(s *discoveryv1.EndpointSlice) bool {
	return maps.Equal(m.labels, s.Labels) && ownedBy(s, m.owner.UID)
}

// apply gives a slice the metadata.
func (m sliceMeta) apply(s *discoveryv1.EndpointSlice) {
	s.Labels = maps.Clone(m.labels)
	if !ownedBy(s, m.owner.UID) {
		s.OwnerReferences = []metav1.OwnerReference{m.owner}
	}
}

// newSlice is a new slice of the Service, named <service>-<random>.
func (m sliceMeta) newSlice(svc *corev1.Service, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{GenerateName: svc.Name + "-", Namespace: svc.Namespace},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
		Endpoints:   eps,
	}
	m.apply(s)
	return s
}

// endpointSortedKeys returns a map's keys in order.
func endpointSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
