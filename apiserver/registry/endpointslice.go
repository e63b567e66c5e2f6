package registry

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// EndpointSlices describes endpointslice (EndpointSlice).
func EndpointSlices() *Kind {
	return &Kind{
		GroupVersion: DiscoveryV1,
		Kind:         "EndpointSlice",
		Resource:     "endpointslices",
		Singular:     "endpointslice",
		ShortNames:   nil,
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:      func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
	}
}
