// Package apiserver serves the Kubernetes REST API over etcd, so that client-go,
// kubectl and every berth component talk to berth as they would to kube-apiserver.
//
// A Server is built by New from Options and runs until its context ends:
//
//	srv, err := apiserver.New(apiserver.Options{DataDir: dir, Listen: "127.0.0.1:6443"})
//	if err != nil { ... }
//	go srv.Run(ctx)
//	<-srv.Ready()
//	cfg := srv.RESTConfig(auth.RoleAdmin) // a client-go config with the admin token
//
// New prepares the data directory: a CA and serving certificate in DIR/tls, a token per
// role in DIR/tls/tokens.csv, and DIR/admin.kubeconfig, DIR/node.kubeconfig and
// DIR/readonly.kubeconfig. Run starts etcd (embedded in DIR/etcd unless Options names
// external endpoints), fills the watch caches, creates the default namespaces and serves
// HTTPS. Every kind is described by package registry; storage and watch by package
// storage; what is specific to a resource (allocating Service IPs and ports, graceful
// pod deletion, binding) lives in one file here per concern.
package apiserver
