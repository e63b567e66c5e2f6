package auth

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Attributes describe a resource request, as Kubernetes' RequestInfo does.
type Attributes struct {
	// Verb is a Kubernetes verb: get, list, watch, create, update, patch, delete or
	// deletecollection.
	Verb string
	// Group is the API group, "" for the core group.
	Group string
	// Resource is the plural resource name, such as "pods".
	Resource string
	// Subresource is empty or a subresource such as "status" or "log".
	Subresource string
	// Namespace is empty for cluster-scoped resources and for requests across all
	// namespaces.
	Namespace string
	// Name is empty for list, watch, create and deletecollection requests.
	Name string
}

// resourceRef names a resource, or one subresource of it, in an API group.
type resourceRef struct {
	group, resource, subresource string
}

// readVerbs may be granted to a role wholesale.
var readVerbs = []string{"get", "list", "watch"}

// connectSubresources reach into a running container or proxy to it. They are not
// reading, although a WebSocket exec is a "get", so no read grant covers them.
var connectSubresources = []string{"exec", "attach", "portforward", "proxy"}

// nodeWrites are the writes RoleNode may make, beyond reading everything.
var nodeWrites = map[resourceRef][]string{
	{"", "nodes", ""}:                             {"create", "update", "patch", "delete"},
	{"", "nodes", "status"}:                       {"update", "patch"},
	{"", "pods", ""}:                              {"delete"},
	{"", "pods", "status"}:                        {"update", "patch"},
	{"", "services", "status"}:                    {"update", "patch"}, // kube-proxy's LoadBalancer addresses
	{"", "events", ""}:                            {"create", "update", "patch"},
	{"events.k8s.io", "events", ""}:               {"create", "update", "patch"},
	{"coordination.k8s.io", "leases", ""}:         {"create", "update", "patch", "delete"},
	{"authentication.k8s.io", "tokenreviews", ""}: {"create"},
}

// isPodLog reports whether a reads a Pod's log, which RoleNode may not: a node has no
// business reading other nodes' containers' output.
func isPodLog(a Attributes) bool {
	return a.Group == "" && a.Resource == "pods" && a.Subresource == "log"
}

// Authorize decides whether u may make the request a describes. Denied, the reason is
// ForbiddenMessage(u, a); allowed, it names the role that allowed it.
//
// RoleAdmin may do anything. RoleReadonly may get, list and watch everything except
// Secrets, like Kubernetes' "view" ClusterRole (which, like it, includes pods/log).
// RoleNode may get, list and watch everything except Pods' logs (a node mounts Secrets
// and ConfigMaps into Pods) and may also write Nodes and their status, delete Pods,
// update Pod status, record Events, hold Leases in any namespace and create
// TokenReviews (to check who calls its kubelet). Neither of the latter two may exec,
// attach, port-forward or proxy.
// A user with any other role may do nothing.
func Authorize(u User, a Attributes) (allowed bool, reason string) {
	switch u.Role {
	case RoleAdmin:
		allowed = true
	case RoleReadonly:
		allowed = isRead(a) && !(a.Group == "" && a.Resource == "secrets")
	case RoleNode:
		allowed = isRead(a) && !isPodLog(a) || slices.Contains(nodeWrites[resourceRef{a.Group, a.Resource, a.Subresource}], a.Verb)
	}
	if !allowed {
		return false, ForbiddenMessage(u, a)
	}
	return true, fmt.Sprintf("allowed by role %q", u.Role)
}

// isRead reports whether a only reads, and not through a connect subresource.
func isRead(a Attributes) bool {
	return slices.Contains(readVerbs, a.Verb) && !slices.Contains(connectSubresources, a.Subresource)
}

// publicPaths are the non-resource paths any authenticated user may read, with how many
// path segments below them are allowed (-1: any). They are those of Kubernetes'
// "system:discovery" and "system:public-info-viewer" ClusterRoles.
var publicPaths = []struct {
	prefix string
	depth  int
}{
	{"/healthz", -1},
	{"/livez", -1},
	{"/readyz", -1},
	{"/version", 0},
	{"/openapi", -1},
	{"/api", 1},  // /api/v1; deeper paths are resource requests
	{"/apis", 2}, // /apis/apps/v1
}

// AuthorizeNonResource decides whether u may request path, a URL path that does not name
// a resource. RoleAdmin may request any path. The other roles may request health checks
// (/healthz, /livez, /readyz and below), /version, /openapi and below, and the discovery
// documents /api, /api/<version>, /apis, /apis/<group> and /apis/<group>/<version>.
// A path that is not in clean form ("..", "//") is refused to them.
func AuthorizeNonResource(u User, p string) bool {
	switch u.Role {
	case RoleAdmin:
		return true
	case RoleNode, RoleReadonly:
	default:
		return false
	}
	trimmed := strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") || path.Clean(p) != trimmed {
		return false
	}
	for _, pub := range publicPaths {
		rest, ok := strings.CutPrefix(trimmed, pub.prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		if pub.depth < 0 || strings.Count(rest, "/") <= pub.depth {
			return true
		}
	}
	return false
}
