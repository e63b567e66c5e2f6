package auth

import (
	"slices"
	"testing"
)

var (
	admin    = User{Name: "berth-admin", Role: RoleAdmin}
	node     = User{Name: "berth-node", Role: RoleNode}
	readonly = User{Name: "berth-readonly", Role: RoleReadonly}
)

func TestAuthorize(t *testing.T) {
	tests := []struct {
		user                                   User
		verb, group, resource, subresource, ns string
		want                                   bool
	}{
		{admin, "create", "apps", "deployments", "", "default", true},
		{admin, "deletecollection", "", "secrets", "", "kube-system", true},
		{admin, "create", "", "pods", "exec", "default", true},
		{admin, "escalate", "rbac.authorization.k8s.io", "clusterroles", "", "", true},

		{readonly, "get", "", "pods", "", "default", true},
		{readonly, "list", "", "nodes", "", "", true},
		{readonly, "watch", "apps", "deployments", "", "", true},
		{readonly, "get", "", "pods", "log", "default", true},
		{readonly, "get", "", "configmaps", "", "default", true},
		{readonly, "create", "", "configmaps", "", "default", false},
		{readonly, "delete", "", "pods", "", "default", false},
		{readonly, "get", "", "secrets", "", "default", false},
		{readonly, "list", "", "secrets", "", "", false},
		{readonly, "watch", "", "secrets", "", "default", false},
		{readonly, "get", "", "pods", "exec", "default", false},
		{readonly, "get", "", "services", "proxy", "default", false},

		{node, "get", "", "secrets", "", "default", true},
		{node, "watch", "", "configmaps", "", "", true},
		{node, "list", "apps", "deployments", "", "", true},
		{node, "create", "", "secrets", "", "default", false},
		{node, "update", "", "configmaps", "", "default", false},
		{node, "create", "", "nodes", "", "", true},
		{node, "patch", "", "nodes", "status", "", true},
		{node, "delete", "", "nodes", "", "", true},
		{node, "update", "", "pods", "status", "default", true},
		{node, "patch", "", "pods", "status", "default", true},
		{node, "delete", "", "pods", "", "default", true},
		{node, "create", "", "pods", "", "default", false},
		{node, "update", "", "pods", "", "default", false},
		{node, "deletecollection", "", "pods", "", "default", false},
		{node, "create", "", "pods", "binding", "default", false},
		{node, "create", "", "pods", "exec", "default", false},
		{node, "get", "", "pods", "exec", "default", false},
		{node, "create", "", "events", "", "default", true},
		{node, "patch", "events.k8s.io", "events", "", "default", true},
		{node, "delete", "", "events", "", "default", false},
		{node, "update", "coordination.k8s.io", "leases", "", "berth-node-lease", true},
		{node, "create", "coordination.k8s.io", "leases", "", "default", true},
		{node, "create", "apps", "deployments", "", "default", false},
		{node, "create", "discovery.k8s.io", "endpointslices", "", "default", false},
		{node, "get", "", "pods", "log", "default", false},
		{node, "create", "authentication.k8s.io", "tokenreviews", "", "", true},
		{readonly, "create", "authentication.k8s.io", "tokenreviews", "", "", false},
		{admin, "get", "", "pods", "log", "default", true},

		{User{Name: "mallory"}, "get", "", "pods", "", "default", false},
		{User{Name: "mallory", Role: "root"}, "get", "", "pods", "", "default", false},
	}
	for _, tt := range tests {
		a := Attributes{Verb: tt.verb, Group: tt.group, Resource: tt.resource, Subresource: tt.subresource, Namespace: tt.ns}
		got, reason := Authorize(tt.user, a)
		if got != tt.want {
			t.Errorf("Authorize(%s, %+v) = %v (%s), want %v", tt.user.Role, a, got, reason, tt.want)
		}
		if !got && reason != ForbiddenMessage(tt.user, a) {
			t.Errorf("Authorize(%s, %+v) reason %q, want the Forbidden message", tt.user.Role, a, reason)
		}
	}
}

func TestAuthorizeReason(t *testing.T) {
	tests := []struct {
		user User
		a    Attributes
		want string
	}{
		{
			readonly, Attributes{Verb: "create", Resource: "configmaps", Namespace: "default"},
			`User "berth-readonly" cannot create resource "configmaps" in API group "" in the namespace "default"`,
		},
		{
			readonly, Attributes{Verb: "get", Resource: "secrets", Namespace: "kube-system", Name: "token"},
			`User "berth-readonly" cannot get resource "secrets" in API group "" in the namespace "kube-system"`,
		},
		{
			readonly, Attributes{Verb: "delete", Resource: "nodes", Name: "n1"},
			`User "berth-readonly" cannot delete resource "nodes" in API group "" at the cluster scope`,
		},
		{
			node, Attributes{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "web"},
			`User "berth-node" cannot create resource "deployments" in API group "apps" in the namespace "web"`,
		},
		{
			node, Attributes{Verb: "update", Resource: "pods", Subresource: "binding", Namespace: "default", Name: "p"},
			`User "berth-node" cannot update resource "pods/binding" in API group "" in the namespace "default"`,
		},
		{
			admin, Attributes{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "web"},
			`allowed by role "admin"`,
		},
	}
	for _, tt := range tests {
		if _, got := Authorize(tt.user, tt.a); got != tt.want {
			t.Errorf("Authorize(%s, %+v) reason\n got %s\nwant %s", tt.user.Role, tt.a, got, tt.want)
		}
	}
}

func TestForbiddenMessage(t *testing.T) {
	tests := []struct {
		a    Attributes
		want string
	}{
		{
			Attributes{Verb: "list", Resource: "nodes"},
			`User "berth-readonly" cannot list resource "nodes" in API group "" at the cluster scope`,
		},
		{
			Attributes{Verb: "list", Resource: "pods"}, // across all namespaces
			`User "berth-readonly" cannot list resource "pods" in API group "" at the cluster scope`,
		},
		{
			Attributes{Verb: "patch", Resource: "pods", Subresource: "status", Namespace: "default", Name: "web-0"},
			`User "berth-readonly" cannot patch resource "pods/status" in API group "" in the namespace "default"`,
		},
		{
			Attributes{Verb: "watch", Group: "coordination.k8s.io", Resource: "leases", Namespace: "berth-node-lease"},
			`User "berth-readonly" cannot watch resource "leases" in API group "coordination.k8s.io" in the namespace "berth-node-lease"`,
		},
	}
	for _, tt := range tests {
		if got := ForbiddenMessage(readonly, tt.a); got != tt.want {
			t.Errorf("ForbiddenMessage(%+v)\n got %s\nwant %s", tt.a, got, tt.want)
		}
	}
	if got, want := ForbiddenPathMessage(node, "get", "/metrics"), `User "berth-node" cannot get path "/metrics"`; got != want {
		t.Errorf("ForbiddenPathMessage\n got %s\nwant %s", got, want)
	}
}

func TestAuthorizeNonResource(t *testing.T) {
	tests := []struct {
		user User
		path string
		want bool
	}{
		{admin, "/metrics", true},
		{admin, "/debug/pprof/heap", true},
		{admin, "/healthz", true},
		{User{Name: "mallory"}, "/healthz", false},

		{readonly, "/healthz", true},
		{readonly, "/healthz/etcd", true},
		{readonly, "/livez", true},
		{node, "/readyz", true},
		{node, "/readyz/ping", true},
		{readonly, "/version", true},
		{readonly, "/version/", true},
		{readonly, "/api", true},
		{readonly, "/api/", true},
		{readonly, "/api/v1", true},
		{readonly, "/apis", true},
		{readonly, "/apis/apps", true},
		{readonly, "/apis/apps/v1", true},
		{readonly, "/openapi/v2", true},
		{readonly, "/openapi/v3/apis/apps/v1", true},

		{readonly, "/", false},
		{readonly, "", false},
		{readonly, "/metrics", false},
		{node, "/debug/pprof/", false},
		{readonly, "/healthzz", false},
		{readonly, "/version/x", false},
		{readonly, "/api/v1/secrets", false},
		{readonly, "/api/v1/namespaces/default/secrets", false},
		{readonly, "/apis/apps/v1/deployments", false},
		{readonly, "/healthz/../metrics", false},
		{readonly, "/api/../metrics", false},
		{readonly, "/api//v1", false},
		{readonly, "/./healthz", false},
		{readonly, "healthz", false},
	}
	for _, tt := range tests {
		if got := AuthorizeNonResource(tt.user, tt.path); got != tt.want {
			t.Errorf("AuthorizeNonResource(%s, %q) = %v, want %v", tt.user.Role, tt.path, got, tt.want)
		}
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		user User
		want []string
	}{
		{admin, []string{"system:masters", AuthenticatedGroup}},
		{node, []string{"system:nodes", AuthenticatedGroup}},
		{readonly, []string{"berth:readonly", AuthenticatedGroup}},
		{User{Name: "mallory"}, []string{AuthenticatedGroup}},
	}
	for _, tt := range tests {
		if got := Groups(tt.user); !slices.Equal(got, tt.want) {
			t.Errorf("Groups(%s) = %v, want %v", tt.user.Role, got, tt.want)
		}
	}
}
