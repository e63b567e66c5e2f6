// Package auth secures the berth API server: it keeps the cluster's TLS certificates
// and bearer tokens on disk, decides what each kind of client may do, and writes the
// kubeconfigs that kubectl and client-go use to connect.
//
// Everything is created on the first start and reused afterwards. EnsurePKI keeps a
// private CA and a serving certificate signed by it, renewing the serving certificate
// when it nears expiry or lacks a host the server is now reached by. EnsureTokens keeps
// one bearer token per role in a file in kube-apiserver's static token format. There
// are three roles: RoleAdmin may do anything, RoleReadonly may read everything except
// Secrets, and RoleNode may do what a berth node agent needs.
//
// The caller's duties: call EnsurePKI and EnsureTokens once before serving; on every
// request authenticate the bearer token (401 if that fails), then authorize the
// request's attributes (403 if that fails, with the reason as its message, as
// Kubernetes does). Key files and tokens are secrets: never log them, nor a kubeconfig.
//
// A server started from a data directory:
//
//	pki, err := auth.EnsurePKI(filepath.Join(data, "tls"), []string{"10.0.0.5", "berth.lan"})
//	if err != nil { ... }
//	tokens, err := auth.EnsureTokens(data)
//	if err != nil { ... }
//	err = auth.WriteKubeconfig(filepath.Join(data, "admin.kubeconfig"), "https://10.0.0.5:6443",
//		pki.CACertPEM, "berth-admin", tokens.Token(auth.RoleAdmin))
//	if err != nil { ... }
//	srv := &http.Server{Addr: ":6443", Handler: h, TLSConfig: pki.TLSConfig()}
//	err = srv.ListenAndServeTLS("", "")
//
// and in h, for a request to create a ConfigMap in namespace "default":
//
//	user, ok := tokens.AuthenticateRequest(r)
//	if !ok { ... 401 Unauthorized ... }
//	a := auth.Attributes{Verb: "create", Resource: "configmaps", Namespace: "default"}
//	if ok, reason := auth.Authorize(user, a); !ok {
//		err := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, a.Name, errors.New(reason))
//		// kubectl prints: configmaps is forbidden: User "berth-readonly" cannot create
//		// resource "configmaps" in API group "" in the namespace "default"
//	}
//
// Requests for paths that name no resource, such as /healthz or /apis, go through
// AuthorizeNonResource instead.
package auth
