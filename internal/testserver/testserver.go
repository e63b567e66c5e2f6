// Package testserver runs a real berth API server in-process, on an embedded etcd
// (or external endpoints) in a temporary directory, for integration tests and
// benchmarks:
//
//	ts := testserver.Start(t, apiserver.Options{})
//	pods, _ := ts.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
package testserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
)

// Server is a running API server and an admin client for it.
type Server struct {
	*apiserver.Server
	// Client is a typed clientset with the admin token.
	Client kubernetes.Interface
	// Config is the admin client config.
	Config  *rest.Config
	DataDir string

	cancel context.CancelFunc
	done   chan error
}

// Run starts a server with opts (DataDir and Listen default to a fresh temp dir and
// a free loopback port) and waits until it is ready.
func Run(opts apiserver.Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := apiserver.New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, DataDir: opts.DataDir, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("server exited before ready: %w", err)
	case <-time.After(90 * time.Second):
		cancel()
		return nil, fmt.Errorf("server not ready in 90s")
	}
	s.Config = srv.RESTConfig(auth.RoleAdmin)
	if s.Client, err = kubernetes.NewForConfig(s.Config); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Start is Run for tests: DataDir defaults to t.TempDir(), and the server stops
// when the test ends.
func Start(t testing.TB, opts apiserver.Options) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	s, err := Run(opts)
	if err != nil {
		t.Fatalf("start API server: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Stop stops the server and waits for it to exit. It is safe to call twice.
func (s *Server) Stop() error {
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("server did not stop in 30s")
	}
}

// ClientFor returns a clientset with the token of a role (admin, node, readonly).
func (s *Server) ClientFor(role string) kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(s.RESTConfig(role))
}
