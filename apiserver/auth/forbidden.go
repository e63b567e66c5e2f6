package auth

import "fmt"

// ForbiddenMessage says, in the words of kube-apiserver, that u may not make the request
// a describes:
//
//	User "berth-readonly" cannot create resource "configmaps" in API group "" in the namespace "default"
//	User "berth-readonly" cannot list resource "nodes" in API group "" at the cluster scope
//
// A subresource is shown as "pods/status". Kubernetes clients see it inside a Forbidden
// Status, as apierrors.NewForbidden(groupResource, a.Name, errors.New(msg)) builds it.
func ForbiddenMessage(u User, a Attributes) string {
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q",
			u.Name, a.Verb, resource, a.Group, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope",
		u.Name, a.Verb, resource, a.Group)
}

// ForbiddenPathMessage is ForbiddenMessage for a non-resource request; verb is the
// lower-case HTTP method:
//
//	User "berth-node" cannot get path "/metrics"
func ForbiddenPathMessage(u User, verb, path string) string {
	return fmt.Sprintf("User %q cannot %s path %q", u.Name, verb, path)
}
