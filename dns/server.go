package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/berth-dev/berth/kubelet/network"
)

// Server is a node's cluster DNS server. Build it with [New], then call
// [Server.Run].
type Server struct {
	opts     Options
	listen   []netip.AddrPort
	log      *slog.Logger
	catalog  *catalog
	answerer *answerer
	fwd      *forwarder
	metrics  *metrics
	ready    chan struct{}
	addrs    []net.Addr // set before ready is closed
}

// New returns a server for opts. It reads opts.ResolvConf when
// opts.Upstreams is empty, and registers its metrics with opts.Registry.
func New(opts Options) (*Server, error) {
	opts, listen, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cat, err := newCatalog(opts.Client)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		listen:   listen,
		log:      opts.Logger,
		catalog:  cat,
		answerer: &answerer{zone: opts.Domain + ".", catalog: cat, serial: uint32(time.Now().Unix())},
		metrics:  m,
		ready:    make(chan struct{}),
	}
	s.fwd = &forwarder{upstreams: opts.Upstreams, timeout: opts.ForwardTimeout, dial: s.dial, metrics: m}
	if len(opts.Upstreams) == 0 {
		s.log.Warn("no upstream resolvers: names outside the cluster domain will get SERVFAIL", "resolvConf", opts.ResolvConf)
	}
	return s, nil
}

// Ready is closed once the server has its first full view of Services and
// EndpointSlices and listens on every address.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the addresses the server listens on (over UDP, and TCP on
// the same port), in the order of Options.Listen. Call it after Ready is
// closed.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Run syncs the informers, listens and serves until ctx ends; call it once.
// It returns an error when a listener cannot be opened (the address must
// exist: see [AddLocalAddress]) or a listener fails; nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	s.catalog.factory.Start(ctx.Done())
	defer func() {
		cancel() // stops the informers, which Shutdown waits for
		s.catalog.factory.Shutdown()
	}()
	for typ, ok := range s.catalog.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("dns: sync %v informer", typ)
		}
	}

	pcs, ls, err := s.openListeners()
	if err != nil {
		return err
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { s.serve(ctx, w, req) })
	var servers []*dns.Server
	for i := range pcs {
		servers = append(servers,
			&dns.Server{PacketConn: pcs[i], Handler: handler, UDPSize: dns.MaxMsgSize},
			&dns.Server{Listener: ls[i], Handler: handler, ReadTimeout: 10 * time.Second})
		s.addrs = append(s.addrs, pcs[i].LocalAddr())
	}
	errs := make(chan error, len(servers))
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.ActivateAndServe(); err != nil {
				errs <- fmt.Errorf("dns: serve %s: %w", describe(srv), err)
				cancel()
			}
		})
	}
	s.log.Info("DNS server ready", "domain", s.opts.Domain, "listen", s.opts.Listen, "upstreams", s.opts.Upstreams)
	close(s.ready)

	<-ctx.Done()
	for _, srv := range servers {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := srv.ShutdownContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Debug("DNS server shutdown", "addr", describe(srv), "err", err)
		}
		scancel()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// describe names a dns.Server's socket for errors.
func describe(srv *dns.Server) string {
	if srv.PacketConn != nil {
		return "udp " + srv.PacketConn.LocalAddr().String()
	}
	return "tcp " + srv.Listener.Addr().String()
}

// openListeners opens a UDP socket and a TCP listener on every listen
// address, inside the node's network namespace when one is set. The
// sockets stay in that namespace and are served from any goroutine.
func (s *Server) openListeners() ([]net.PacketConn, []net.Listener, error) {
	var pcs []net.PacketConn
	var ls []net.Listener
	open := func() error {
		for _, ap := range s.listen {
			pc, err := net.ListenPacket("udp", ap.String())
			if err != nil {
				return fmt.Errorf("dns: listen on udp %s: %w", ap, err)
			}
			pcs = append(pcs, pc)
			// The TCP listener takes the UDP socket's port, which port 0 chose.
			l, err := net.Listen("tcp", pc.LocalAddr().String())
			if err != nil {
				return fmt.Errorf("dns: listen on tcp %s: %w", pc.LocalAddr(), err)
			}
			ls = append(ls, l)
		}
		return nil
	}
	var err error
	if s.opts.NetNS == "" {
		err = open()
	} else {
		err = network.Do(s.opts.NetNS, open)
	}
	if err != nil {
		for _, pc := range pcs {
			pc.Close()
		}
		for _, l := range ls {
			l.Close()
		}
		return nil, nil, err
	}
	return pcs, ls, nil
}

// dial opens a connection to an upstream from the node's network namespace.
// Upstreams are IP addresses, so nothing in the dial runs on another thread.
func (s *Server) dial(ctx context.Context, netw, address string) (net.Conn, error) {
	var d net.Dialer
	if s.opts.NetNS == "" {
		return d.DialContext(ctx, netw, address)
	}
	var conn net.Conn
	err := network.Do(s.opts.NetNS, func() error {
		var err error
		conn, err = d.DialContext(ctx, netw, address)
		return err
	})
	return conn, err
}
