package dns

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeUpstream is a resolver the tests forward to. It answers A questions
// with 192.0.2.1, and big.example. with 40 A records, over UDP with an
// empty truncated answer; it records the transports it was asked over.
type fakeUpstream struct {
	addr string

	mu    sync.Mutex // guards asked
	asked []string   // "udp big.example.", "tcp big.example.", ...
}

// startUpstream serves a fakeUpstream on a UDP socket and a TCP listener
// (of the same address) until the test ends.
func startUpstream(t *testing.T, pc net.PacketConn, l net.Listener) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(u.serveDNS)
	servers := []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}}
	var wg sync.WaitGroup
	for _, s := range servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() { _ = s.ActivateAndServe() })
		<-started
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
		wg.Wait()
	})
	return u
}

// startLoopbackUpstream is startUpstream on a free port of 127.0.0.1.
func startLoopbackUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	return startUpstream(t, pc, l)
}

func (u *fakeUpstream) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.LocalAddr().(*net.TCPAddr)
	transport := "udp"
	if tcp {
		transport = "tcp"
	}
	q := req.Question[0]
	u.mu.Lock()
	u.asked = append(u.asked, transport+" "+q.Name)
	u.mu.Unlock()
	resp := new(dns.Msg).SetReply(req)
	resp.RecursionAvailable = true
	switch {
	case q.Name == "big.example." && !tcp:
		resp.Truncated = true
	case q.Name == "big.example.":
		for i := range 40 {
			resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(q.Name, dns.TypeA), A: net.IPv4(192, 0, 2, byte(i+1))})
		}
	case q.Name == "missing.example.":
		resp.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA:
		resp.Answer = []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA), A: net.IPv4(192, 0, 2, 1)}}
	}
	_ = w.WriteMsg(resp)
}

// transports returns what the upstream was asked so far.
func (u *fakeUpstream) transports() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.asked...)
}

// silentUpstream returns the address of a UDP socket (and a TCP listener
// on the same port) that never answer, closed when the test ends.
func silentUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	return pc.LocalAddr().String()
}

// startServer runs a Server with opts over a fake clientset holding objs,
// listening on a free port of 127.0.0.1 unless opts.Listen says otherwise,
// until the test ends. It returns the server's address.
func startServer(t *testing.T, opts Options, objs ...runtime.Object) (*Server, string) {
	t.Helper()
	if opts.Client == nil {
		opts.Client = fake.NewClientset(objs...)
	}
	if opts.Listen == nil {
		opts.Listen = []string{"127.0.0.1:0"}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server not ready in 30s")
	}
	return s, s.Addrs()[0].String()
}

// query asks server (host:port) a question over netw ("udp" or "tcp").
func query(t *testing.T, netw, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: netw, Timeout: 10 * time.Second}
	resp, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], netw, err)
	}
	return resp
}

// summary is a response as the tests compare it.
func summary(m *dns.Msg) string {
	return fmt.Sprintf("%s tc=%v answer=%q ns=%d", dns.RcodeToString[m.Rcode], m.Truncated, rrStrings(m.Answer), len(m.Ns))
}
