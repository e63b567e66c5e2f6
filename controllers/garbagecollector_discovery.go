package controllers

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// apiResource is a resource the API server serves, as discovery describes it.
type apiResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	verbs      []string
}

// can says whether the resource supports every one of the verbs.
func (r apiResource) can(verbs ...string) bool {
	for _, v := range verbs {
		if !slices.Contains(r.verbs, v) {
			return false
		}
	}
	return true
}

// discoverResources lists the preferred version of every resource the API server
// serves (subresources left out). When some groups fail, it returns the others
// with the error (a *discovery.ErrGroupDiscoveryFailed).
func discoverResources(d discovery.DiscoveryInterface) ([]apiResource, error) {
	lists, err := discovery.ServerPreferredResources(d)
	var out []apiResource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			out = append(out, apiResource{gvr: gv.WithResource(r.Name), kind: r.Kind, namespaced: r.Namespaced, verbs: r.Verbs})
		}
	}
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("discover API resources: %w", err)
	}
	return out, err
}

// metadataClientFor is a metadata-only client (PartialObjectMetadata) of the API
// server the controllers talk to, unthrottled as the manager's own client.
func metadataClientFor(cc *controllerContext) (metadata.Interface, error) {
	if cc.opts.Config == nil {
		return nil, fmt.Errorf("a client config is required")
	}
	cfg := rest.CopyConfig(cc.opts.Config)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 5000, 10000
	}
	c, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	return c, nil
}
