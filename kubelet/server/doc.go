// Package server is the kubelet's HTTPS server, the endpoint the API server proxies
// pods/log to.
//
// It serves GET /containerLogs/{namespace}/{pod}/{container} with the query of
// Kubernetes' pods/log (follow, tailLines, timestamps, limitBytes, sinceSeconds,
// previous) and GET /healthz, over TLS with a self-signed certificate kept in
// Options.CertDir (the API server does not verify it, as kube-apiserver by default).
//
// Every request needs a bearer token that Options.Authenticate accepts, else 401, and
// the user must be in the group AdminGroup ("system:masters": berth's admin user, whose
// token the API server uses to proxy), else 403.
package server
