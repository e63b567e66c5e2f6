package registry

import (
	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GitSources describes gitsource (GitSource).
func GitSources() *Kind {
	return &Kind{
		GroupVersion: BerthV1alpha1,
		Kind:         "GitSource",
		Resource:     "gitsources",
		Singular:     "gitsource",
		ShortNames:   []string{"gs"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    true,
		Generation:   true,
		New:          func() runtime.Object { return &berthv1.GitSource{} },
		NewList:      func() runtime.Object { return &berthv1.GitSourceList{} },
	}
}
