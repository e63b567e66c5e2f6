package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is the kubelet's port, as Kubernetes'.
const DefaultAddr = ":10250"

// LogLocator finds containers' log files. The kubelet implements it: it knows each
// container's current and previous attempt.
type LogLocator interface {
	// LogPath returns the log file of container in namespace/pod, of its previous
	// terminated attempt if previous. An error wrapping ErrNotFound is answered 404,
	// any other error 400, both with the error's text (such as `container "x" in pod
	// "y" is not available`), as kubectl users see it.
	LogPath(namespace, pod, container string, previous bool) (string, error)
}

// ErrNotFound marks a LogLocator error answered with 404 Not Found.
var ErrNotFound = errors.New("not found")

// Authenticator returns the user name and groups of a bearer token, or an error if the
// token is not valid or cannot be checked.
type Authenticator func(ctx context.Context, token string) (user string, groups []string, err error)

// Options configure a Server.
type Options struct {
	// Addr is the address to listen on, DefaultAddr if empty. Use "127.0.0.1:0" for
	// any free port; Server.Addr says which.
	Addr string
	// CertDir holds the self-signed serving certificate, generated when missing.
	CertDir string
	// Logs finds log files.
	Logs LogLocator
	// Authenticate checks every request's bearer token.
	Authenticate Authenticator
}

// Server is the kubelet's HTTPS server.
type Server struct {
	opts Options
	ln   net.Listener
	srv  *http.Server
}

// New loads or generates the serving certificate and listens on opts.Addr; Run serves.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.CertDir == "" {
		return nil, errors.New("kubelet server: no certificate directory")
	}
	if opts.Logs == nil || opts.Authenticate == nil {
		return nil, errors.New("kubelet server: Logs and Authenticate are required")
	}
	cert, err := ensureCert(opts.CertDir, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("kubelet server: listen on %s: %w", opts.Addr, err)
	}
	s := &Server{opts: opts, ln: ln}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends, then closes the listener and open connections (which ends
// followed logs).
func (s *Server) Run(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = s.srv.Close()
		case <-done:
		}
	}()
	err := s.srv.ServeTLS(s.ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubelet server: %w", err)
	}
	return nil
}

// Handler returns the server's routes behind authentication.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	return s.authenticate(mux)
}
