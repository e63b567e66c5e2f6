package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	berthdns "github.com/berth-dev/berth/dns"
)

// The DNS figure's namespace and load.
const (
	dnsNS       = "bench-dns"
	dnsServices = 1000
	dnsClients  = 16
	// Each server gets dnsRounds rounds of dnsRound, interleaved, so that both
	// see the same machine (other processes may share its CPUs).
	dnsRounds = 5
	dnsRound  = 1200 * time.Millisecond
)

// dnsQueries measures the cluster DNS server (package dns) answering A
// questions for ClusterIP Services, with dnsServices Services in its
// informers, over UDP from dnsClients parallel clients on loopback in this
// process. The baseline is a bare miekg/dns server answering a fixed A
// record: the library's floor on this machine.
func (b *bench) dnsQueries(ctx context.Context) error {
	if err := b.createNamespace(ctx, dnsNS); err != nil {
		return err
	}
	defer b.cleanDNS(context.WithoutCancel(ctx))
	b.logf("dns: creating %d Services", dnsServices)
	if _, err := parallel(ctx, 32, dnsServices, func(ctx context.Context, i int) error {
		_, err := b.ts.Client.CoreV1().Services(dnsNS).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%04d", i)},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
		}, metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("create Services: %w", err)
	}
	names := make([]string, dnsServices)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d.%s.svc.cluster.local.", i, dnsNS)
	}

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var srv *berthdns.Server
	var err error
	done := make(chan error, 2)
	pprof.Do(ctx, pprof.Labels("side", "dns"), func(context.Context) {
		srv, err = berthdns.New(berthdns.Options{
			Client: b.ts.Client, Listen: []string{"127.0.0.1:0"}, Upstreams: []string{"127.0.0.1:9"},
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err == nil {
			go func() { done <- srv.Run(sctx) }()
		}
	})
	if err != nil {
		return fmt.Errorf("start the DNS server: %w", err)
	}
	select {
	case <-srv.Ready():
	case err := <-done:
		return fmt.Errorf("DNS server: %w", err)
	case <-time.After(time.Minute):
		return errors.New("DNS server not ready in 1m")
	}
	berthAddr := srv.Addrs()[0].String()

	base, baseAddr, err := startFixedDNS()
	if err != nil {
		return err
	}
	defer base.Shutdown()

	var berth, floor dnsSeries
	err = b.profiled("dns", func() error {
		for round := range dnsRounds {
			b.logf("dns: round %d, baseline then berth, %d clients for %s each", round+1, dnsClients, dnsRound)
			s, err := dnsLoad(ctx, baseAddr, names, dnsClients, dnsRound)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			floor = floor.plus(s)
			if s, err = dnsLoad(ctx, berthAddr, names, dnsClients, dnsRound); err != nil {
				return fmt.Errorf("berth: %w", err)
			}
			berth = berth.plus(s)
		}
		return nil
	})
	stop()
	if rerr := <-done; rerr != nil && err == nil {
		err = fmt.Errorf("DNS server: %w", rerr)
	}
	if err != nil {
		return err
	}

	r, br := rate(len(berth.lat), berth.wall), rate(len(floor.lat), floor.wall)
	bl, fl := sorted(berth.lat), sorted(floor.lat)
	b.logf("dns: %.0f queries/s (baseline %.0f/s); p50 %s p99 %s (baseline %s, %s)", r, br,
		ms(percentile(bl, 50)), ms(percentile(bl, 99)), ms(percentile(fl, 50)), ms(percentile(fl, 99)))
	b.add("DNS queries/s, cluster A over UDP", fmt.Sprintf("%.0f/s", r), fmt.Sprintf("%.0f/s", br), r/br,
		fmt.Sprintf("%d ClusterIP Services in the server's informers, A questions cycling over all of them from %d parallel clients "+
			"(a UDP socket each, one query in flight) on loopback in this process; %s CPU per query (baseline %s). "+
			"Baseline: a bare miekg/dns server answering a fixed A record, the library's floor",
			dnsServices, dnsClients, perOp(berth.cpu, len(berth.lat)), perOp(floor.cpu, len(floor.lat))))
	b.add("DNS query latency p50 / p99", ms(percentile(bl, 50))+" / "+ms(percentile(bl, 99)),
		ms(percentile(fl, 50))+" / "+ms(percentile(fl, 99)), float64(percentile(bl, 50))/float64(max(percentile(fl, 50), 1)),
		fmt.Sprintf("the same queries, client-side round trip with %d clients in flight; ratio of p50s", dnsClients))
	return nil
}

// dnsSeries is what one or more rounds of queries measured.
type dnsSeries struct {
	lat       []time.Duration
	wall, cpu time.Duration
}

func (s dnsSeries) plus(o dnsSeries) dnsSeries {
	return dnsSeries{lat: append(s.lat, o.lat...), wall: s.wall + o.wall, cpu: s.cpu + o.cpu}
}

// dnsLoad sends A questions for names (each client cycling from its own
// offset) to addr over UDP from clients goroutines, each with a socket of
// its own and one query in flight, for d. Every answer must be one A record.
func dnsLoad(ctx context.Context, addr string, names []string, clients int, d time.Duration) (dnsSeries, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	lats := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for c := range clients {
		wg.Go(func() {
			conn, err := net.Dial("udp", addr)
			if err != nil {
				errs[c] = err
				return
			}
			defer conn.Close()
			co := &dns.Conn{Conn: conn}
			client := &dns.Client{Timeout: 5 * time.Second}
			m := new(dns.Msg)
			for i := c * len(names) / clients; ctx.Err() == nil; i++ {
				m.SetQuestion(names[i%len(names)], dns.TypeA)
				t := time.Now()
				resp, _, err := client.ExchangeWithConn(m, co)
				if err != nil {
					errs[c] = fmt.Errorf("query %s: %w", names[i%len(names)], err)
					return
				}
				if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
					errs[c] = fmt.Errorf("query %s: %s with %d answers", names[i%len(names)], dns.RcodeToString[resp.Rcode], len(resp.Answer))
					return
				}
				lats[c] = append(lats[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	s := dnsSeries{wall: time.Since(start), cpu: cpuTime() - cpu0}
	for _, l := range lats {
		s.lat = append(s.lat, l...)
	}
	return s, errors.Join(errs...)
}

// startFixedDNS starts the baseline: a miekg/dns server on a free loopback
// port answering every question with one fixed A record.
func startFixedDNS() (*dns.Server, string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("baseline DNS server: %w", err)
	}
	ip := net.IPv4(10, 96, 0, 1)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg).SetReply(req)
		resp.Authoritative = true
		if len(req.Question) == 1 {
			resp.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: ip}}
		}
		_ = w.WriteMsg(resp)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	return srv, pc.LocalAddr().String(), nil
}

// cleanDNS deletes the figure's Services.
func (b *bench) cleanDNS(ctx context.Context) {
	if _, err := parallel(ctx, 32, dnsServices, func(ctx context.Context, i int) error {
		return b.ts.Client.CoreV1().Services(dnsNS).Delete(ctx, fmt.Sprintf("svc-%04d", i), metav1.DeleteOptions{})
	}); err != nil {
		b.logf("dns: clean up: %v", err)
	}
}
