package auth

// AuthenticatedGroup is the group of every authenticated user, as in Kubernetes.
const AuthenticatedGroup = "system:authenticated"

// Groups returns the groups of u as a TokenReview reports them: the group of its
// account in the token file (for RoleAdmin "system:masters", for RoleNode
// "system:nodes", for RoleReadonly "berth:readonly") and AuthenticatedGroup.
func Groups(u User) []string {
	for _, a := range accounts {
		if a.role == u.Role {
			return []string{a.group, AuthenticatedGroup}
		}
	}
	return []string{AuthenticatedGroup}
}
