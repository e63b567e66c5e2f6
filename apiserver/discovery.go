package apiserver

import (
	"net/http"
	"runtime"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/berth-dev/berth/apiserver/registry"
	bversion "github.com/berth-dev/berth/internal/version"
)

// KubernetesVersion is the Kubernetes API version berth serves.
const KubernetesVersion = "v1.34.2"

// serveNonResource serves discovery, /version and /metrics.
func (s *Server) serveNonResource(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)
	switch {
	case r.URL.Path == "/version":
		writeJSON(w, r, http.StatusOK, version.Info{
			Major: "1", Minor: "34", GitVersion: KubernetesVersion + "+berth-" + bversion.Version,
			GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
		})
	case r.URL.Path == "/openapi/v3" || strings.HasPrefix(r.URL.Path, "/openapi/v3/"):
		s.serveOpenAPI(w, r)
	case r.URL.Path == "/metrics":
		s.metrics.handler().ServeHTTP(w, r)
	case len(parts) == 1 && parts[0] == "api":
		writeJSON(w, r, http.StatusOK, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
				{ClientCIDR: "0.0.0.0/0", ServerAddress: strings.TrimPrefix(s.url, "https://")},
			},
		})
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		writeJSON(w, r, http.StatusOK, s.resourceList(registry.CoreV1))
	case len(parts) == 1 && parts[0] == "apis":
		list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		list.Groups = append(list.Groups, s.groups()...)
		writeJSON(w, r, http.StatusOK, list)
	case len(parts) == 2 && parts[0] == "apis":
		for _, g := range s.groups() {
			if g.Name == parts[1] {
				writeJSON(w, r, http.StatusOK, &g)
				return
			}
		}
		writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
	case len(parts) == 3 && parts[0] == "apis":
		gv := schema.GroupVersion{Group: parts[1], Version: parts[2]}
		if list := s.resourceList(gv); len(list.APIResources) > 0 {
			writeJSON(w, r, http.StatusOK, list)
			return
		}
		writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
	default:
		writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
	}
}

// groups returns the named API groups served, sorted by name.
func (s *Server) groups() []metav1.APIGroup {
	seen := map[string]bool{}
	var out []metav1.APIGroup
	for _, k := range s.kinds {
		gv := k.GroupVersion
		if gv.Group == "" || seen[gv.Group] {
			continue
		}
		seen[gv.Group] = true
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		out = append(out, metav1.APIGroup{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name:     gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v,
		})
	}
	v := metav1.GroupVersionForDiscovery{GroupVersion: authenticationV1.String(), Version: authenticationV1.Version}
	out = append(out, metav1.APIGroup{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
		Name:     authenticationV1.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v,
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// allVerbs are the verbs of every main resource.
var allVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// resourceList is the discovery document of one group version.
func (s *Server) resourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	list.APIResources = []metav1.APIResource{}
	if gv == authenticationV1 {
		list.APIResources = append(list.APIResources, tokenReviewResource)
	}
	for _, k := range s.kinds {
		if k.GroupVersion != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: allVerbs, ShortNames: k.ShortNames, Categories: k.Categories,
		})
		sub := func(name, kind string, verbs ...string) {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: k.Resource + "/" + name, Namespaced: k.Namespaced, Kind: kind, Verbs: verbs,
			})
		}
		if k.HasStatus {
			sub("status", k.Kind, "get", "patch", "update")
		}
		if hasScale(k.Resource) {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: k.Resource + "/scale", Namespaced: true, Group: "autoscaling", Version: "v1", Kind: "Scale",
				Verbs: metav1.Verbs{"get", "patch", "update"},
			})
		}
		switch k.Resource {
		case "pods":
			sub("binding", "Binding", "create")
			sub("log", "Pod", "get")
		case "namespaces":
			sub("finalize", "Namespace", "update")
		}
	}
	return list
}

// serveReadyz answers ok once the caches are filled and etcd answers.
func (s *Server) serveReadyz(w http.ResponseWriter) {
	select {
	case <-s.ready:
	default:
		http.Error(w, "[-]informer-sync failed: not ready", http.StatusServiceUnavailable)
		return
	}
	if err := s.health(); err != nil {
		http.Error(w, "[-]etcd failed: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok"))
}
