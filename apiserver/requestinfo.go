package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource request's path and method say, as kube-apiserver's
// RequestInfoFactory reads them.
type requestInfo struct {
	resourceRequest bool
	verb            string // get, list, watch, create, update, patch, delete, deletecollection
	group, version  string
	namespace       string
	resource        string
	name            string
	subresource     string
}

// namespaceSubresources are the subresources of a namespace itself, which would
// otherwise read as a resource inside it.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequest reads the request's path and method. A path under /api or /apis that is
// not a resource (discovery) is returned with resourceRequest false.
func parseRequest(r *http.Request) requestInfo {
	parts := splitPath(r.URL.Path)
	var ri requestInfo
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		ri.version, parts = parts[1], parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		ri.group, ri.version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri
	}
	if len(parts) == 0 {
		return ri
	}
	ri.resourceRequest = true
	watchPath := false
	if parts[0] == "watch" { // the deprecated /watch/ paths
		watchPath, parts = true, parts[1:]
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		ri.namespace = parts[1]
		if len(parts) >= 3 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		} else {
			// The namespace object itself.
			ri.namespace = ""
			parts = append([]string{"namespaces", parts[1]}, parts[2:]...)
		}
	}
	if len(parts) == 0 {
		ri.resourceRequest = false
		return ri
	}
	ri.resource = parts[0]
	if len(parts) >= 2 {
		ri.name = parts[1]
	}
	if len(parts) >= 3 {
		ri.subresource = parts[2]
	}
	if len(parts) > 3 {
		ri.resource = "" // nothing lives that deep
	}
	if ri.resource == "namespaces" {
		ri.namespace = ""
	}
	q := r.URL.Query()
	isWatch := watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case ri.name != "" && isWatch:
			ri.verb = "watch"
		case ri.name != "":
			ri.verb = "get"
		case isWatch:
			ri.verb = "watch"
		default:
			ri.verb = "list"
		}
	case http.MethodPost:
		ri.verb = "create"
	case http.MethodPut:
		ri.verb = "update"
	case http.MethodPatch:
		ri.verb = "patch"
	case http.MethodDelete:
		if ri.name == "" {
			ri.verb = "deletecollection"
		} else {
			ri.verb = "delete"
		}
	}
	return ri
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
