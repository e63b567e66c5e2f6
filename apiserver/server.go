package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// Server is berth's API server.
type Server struct {
	opts     Options
	log      *slog.Logger
	kinds    []*registry.Kind
	pki      *auth.PKI
	tokens   *auth.Tokens
	listener net.Listener
	url      string
	metrics  *metrics
	ready    chan struct{}

	// Set by Run before ready is closed.
	etcd   *embed.Etcd
	client *clientv3.Client
	stores map[schemaKey]*storage.Store
	alloc  *allocator
	leases *leases

	mu      sync.Mutex // guards healthy
	healthy error
}

// schemaKey names a resource by group and resource name.
type schemaKey struct{ group, resource string }

// New prepares a server: data dir, TLS material, tokens, kubeconfigs and the listener.
func New(opts Options) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if _, err := parseCIDR("--service-cidr", opts.ServiceCIDR); err != nil {
		return nil, err
	}
	if _, err := parseCIDR("--cluster-cidr", opts.ClusterCIDR); err != nil {
		return nil, err
	}
	if _, _, err := parsePortRange(opts.NodePortRange); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", opts.Listen, err)
	}
	hosts := append([]string{}, opts.Hosts...)
	if host != "" && host != "0.0.0.0" && host != "::" {
		hosts = append(hosts, host)
	}
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	tlsDir := filepath.Join(opts.DataDir, "tls")
	pki, err := auth.EnsurePKI(tlsDir, hosts)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	tokens, err := auth.EnsureTokens(tlsDir)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	s := &Server{
		opts: opts, log: opts.Logger, kinds: registry.All(), pki: pki, tokens: tokens,
		listener: l, metrics: newMetrics(), ready: make(chan struct{}),
		healthy: errors.New("starting"),
	}
	s.url = "https://" + clientAddr(l.Addr().(*net.TCPAddr))
	for _, role := range []string{auth.RoleAdmin, auth.RoleNode, auth.RoleReadonly} {
		path := filepath.Join(opts.DataDir, role+".kubeconfig")
		if err := auth.WriteKubeconfig(path, s.url, pki.CACertPEM, "berth-"+role, tokens.Token(role)); err != nil {
			l.Close()
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
	}
	return s, nil
}

// clientAddr is the address clients use to reach a listener: loopback for a
// wildcard listen address.
func clientAddr(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// URL returns the server's https URL.
func (s *Server) URL() string { return s.url }

// Ready is closed once the server serves requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// KubeconfigPath returns the path of the kubeconfig of a role.
func (s *Server) KubeconfigPath(role string) string {
	return filepath.Join(s.opts.DataDir, role+".kubeconfig")
}

// RESTConfig returns a client-go config for a role (admin, node or readonly).
func (s *Server) RESTConfig(role string) *rest.Config {
	return &rest.Config{
		Host:            s.url,
		BearerToken:     s.tokens.Token(role),
		TLSClientConfig: rest.TLSClientConfig{CAData: s.pki.CACertPEM},
		QPS:             -1,
	}
}

// EtcdClient returns the server's etcd client (valid once Ready).
func (s *Server) EtcdClient() *clientv3.Client { return s.client }

// Run starts etcd and the watch caches, then serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.listener.Close()
	if err := s.startStorage(ctx); err != nil {
		return err
	}
	defer func() {
		s.client.Close()
		if s.etcd != nil {
			s.etcd.Close()
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, st := range s.stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = st.Cacher().Run(ctx)
		}()
	}
	for _, st := range s.stores {
		select {
		case <-st.Cacher().Ready():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.bootstrap(ctx); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.compact(ctx) }()
	go func() { defer wg.Done(); s.watchHealth(ctx) }()

	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.pki.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(s.listener, "", "") }()
	s.setHealth(nil)
	close(s.ready)
	s.log.Info("api server ready", "url", s.url, "data", s.opts.DataDir)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	srv.Close()
	return nil
}

// startStorage connects to etcd (starting the embedded one if needed) and builds a
// store per kind.
func (s *Server) startStorage(ctx context.Context) error {
	var err error
	if len(s.opts.EtcdEndpoints) > 0 {
		s.client, err = newEtcdClient(s.opts.EtcdEndpoints)
	} else {
		s.etcd, s.client, err = startEmbeddedEtcd(ctx, filepath.Join(s.opts.DataDir, "etcd"))
	}
	if err != nil {
		return err
	}
	s.stores = map[schemaKey]*storage.Store{}
	copts := storage.CacherOptions{BookmarkInterval: s.opts.BookmarkInterval, Logger: s.log}
	for _, k := range s.kinds {
		s.stores[schemaKey{k.GroupVersion.Group, k.Resource}] = storage.NewStore(s.client, k, copts)
	}
	s.leases = &leases{client: s.client}
	s.alloc, err = newAllocator(s.client, s.opts)
	return err
}

// store returns the store of a kind.
func (s *Server) store(k *registry.Kind) *storage.Store {
	return s.stores[schemaKey{k.GroupVersion.Group, k.Resource}]
}

func (s *Server) setHealth(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy = err
}

func (s *Server) health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthy
}

// watchHealth checks etcd every few seconds for /readyz.
func (s *Server) watchHealth(ctx context.Context) {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.client.Get(cctx, "health", clientv3.WithCountOnly())
		cancel()
		if err != nil {
			err = fmt.Errorf("etcd: %w", err)
		}
		s.setHealth(err)
	}
}
