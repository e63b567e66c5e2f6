package apiserver

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/apiserver/registry"
)

// serveOpenAPI serves a small OpenAPI v3 document per group version: the paths and
// operations of each resource with their group-version-kind, and the fieldValidation
// parameter on writes. It holds no schemas; it is there so that kubectl (which reads
// it to learn that the server validates fields itself) sends objects for the server
// to validate instead of failing to download a schema.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/openapi/v3")
	rest = strings.Trim(rest, "/")
	if rest == "" {
		paths := map[string]any{}
		for _, gv := range s.groupVersions() {
			p := gvPath(gv)
			paths[p] = map[string]string{"serverRelativeURL": "/openapi/v3/" + p}
		}
		writeJSON(w, r, http.StatusOK, map[string]any{"paths": paths})
		return
	}
	for _, gv := range s.groupVersions() {
		if gvPath(gv) == rest {
			writeJSON(w, r, http.StatusOK, s.openAPIDoc(gv))
			return
		}
	}
	writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
}

// groupVersions lists the group versions served, core first.
func (s *Server) groupVersions() []schema.GroupVersion {
	var out []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, k := range s.kinds {
		if !seen[k.GroupVersion] {
			seen[k.GroupVersion] = true
			out = append(out, k.GroupVersion)
		}
	}
	return out
}

// gvPath is a group version's path: api/v1 or apis/GROUP/VERSION.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func (s *Server) openAPIDoc(gv schema.GroupVersion) map[string]any {
	paths := map[string]any{}
	for _, k := range s.kinds {
		if k.GroupVersion != gv {
			continue
		}
		base := "/" + gvPath(gv)
		if k.Namespaced {
			base += "/namespaces/{namespace}"
		}
		coll := base + "/" + k.Resource
		paths[coll] = map[string]any{"get": operation(k, "list"), "post": operation(k, "create"), "delete": operation(k, "deletecollection")}
		item := coll + "/{name}"
		paths[item] = map[string]any{"get": operation(k, "read"), "put": operation(k, "replace"), "patch": operation(k, "patch"), "delete": operation(k, "delete")}
		if k.HasStatus {
			paths[item+"/status"] = map[string]any{"get": operation(k, "read"), "put": operation(k, "replace"), "patch": operation(k, "patch")}
		}
	}
	return map[string]any{
		"openapi": "3.0.0",
		"info":    map[string]string{"title": "Kubernetes", "version": KubernetesVersion},
		"paths":   paths,
	}
}

// operation describes one operation on a kind.
func operation(k *registry.Kind, action string) map[string]any {
	op := map[string]any{
		"operationId": action + k.Kind,
		"x-kubernetes-action": map[string]string{"read": "get", "replace": "put", "create": "post", "list": "list",
			"patch": "patch", "delete": "delete", "deletecollection": "deletecollection"}[action],
		"x-kubernetes-group-version-kind": map[string]string{"group": k.GroupVersion.Group, "version": k.GroupVersion.Version, "kind": k.Kind},
		"responses":                       map[string]any{"200": map[string]string{"description": "OK"}},
	}
	switch action {
	case "create", "replace", "patch":
		op["parameters"] = []map[string]any{
			{"name": "fieldValidation", "in": "query", "schema": map[string]string{"type": "string"}},
			{"name": "dryRun", "in": "query", "schema": map[string]string{"type": "string"}},
		}
	}
	return op
}
