package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestServer runs a server on loopback over a fake clientset and asks it
// over UDP and TCP: cluster names, negative answers with the SOA, names
// forwarded to an upstream, ExternalName chasing, truncation.
func TestServer(t *testing.T) {
	up := startLoopbackUpstream(t)
	objs := testObjects()
	// A headless Service whose answer does not fit in 512 bytes.
	var many []testEndpoint
	for i := range 60 {
		many = append(many, testEndpoint{addr: fmt.Sprintf("10.42.1.%d", i+1)})
	}
	objs = append(objs, headlessService("demo", "many"),
		slice("demo", "many", "many-1", discoveryv1.AddressTypeIPv4, nil, many...))
	reg := prometheus.NewRegistry()
	_, addr := startServer(t, Options{Upstreams: []string{up.addr}, Registry: reg}, objs...)

	for _, tc := range []struct {
		netw, name string
		qtype      uint16
		want       string
	}{
		{"udp", "hello.demo.svc.cluster.local", dns.TypeA,
			`NOERROR tc=false answer=["hello.demo.svc.cluster.local. 5 IN A 10.96.0.20"] ns=0`},
		{"tcp", "hello.demo.svc.cluster.local", dns.TypeA,
			`NOERROR tc=false answer=["hello.demo.svc.cluster.local. 5 IN A 10.96.0.20"] ns=0`},
		{"udp", "hello.demo.svc.cluster.local", dns.TypeAAAA, `NOERROR tc=false answer=[] ns=1`},
		{"udp", "nope.demo.svc.cluster.local", dns.TypeA, `NXDOMAIN tc=false answer=[] ns=1`},
		{"udp", "example.com.demo.svc.cluster.local", dns.TypeA, `NXDOMAIN tc=false answer=[] ns=1`},
		{"udp", "example.com", dns.TypeA, `NOERROR tc=false answer=["example.com. 5 IN A 192.0.2.1"] ns=0`},
		{"tcp", "example.com", dns.TypeA, `NOERROR tc=false answer=["example.com. 5 IN A 192.0.2.1"] ns=0`},
		{"udp", "missing.example", dns.TypeA, `NXDOMAIN tc=false answer=[] ns=0`},
		{"udp", "ext.demo.svc.cluster.local", dns.TypeA,
			`NOERROR tc=false answer=["ext.demo.svc.cluster.local. 5 IN CNAME example.com." "example.com. 5 IN A 192.0.2.1"] ns=0`},
		{"udp", "1.1.1.1.in-addr.arpa", dns.TypePTR, `NOERROR tc=false answer=[] ns=0`},
	} {
		if got := summary(query(t, tc.netw, addr, tc.name, tc.qtype)); got != tc.want {
			t.Errorf("%s %s over %s:\n got %s\nwant %s", tc.name, dns.TypeToString[tc.qtype], tc.netw, got, tc.want)
		}
	}

	// The SOA of a negative answer.
	if ns := query(t, "udp", addr, "nope.demo.svc.cluster.local", dns.TypeA).Ns; len(ns) != 1 ||
		rrStrings(ns)[0] != fmt.Sprintf("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. %d 7200 1800 86400 5", ns[0].(*dns.SOA).Serial) {
		t.Errorf("NXDOMAIN authority section: %q", rrStrings(ns))
	}

	// 60 addresses do not fit in 512 bytes: truncated over UDP, whole over
	// TCP and with EDNS0's larger size.
	if r := query(t, "udp", addr, "many.demo.svc.cluster.local", dns.TypeA); !r.Truncated {
		t.Errorf("60 A records over UDP without EDNS0: not truncated (%d answers)", len(r.Answer))
	}
	if r := query(t, "tcp", addr, "many.demo.svc.cluster.local", dns.TypeA); r.Truncated || len(r.Answer) != 60 {
		t.Errorf("60 A records over TCP: truncated %v, %d answers", r.Truncated, len(r.Answer))
	}
	m := new(dns.Msg).SetQuestion("many.demo.svc.cluster.local.", dns.TypeA).SetEdns0(4096, false)
	if r, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(m, addr); err != nil || r.Truncated || len(r.Answer) != 60 || r.IsEdns0() == nil {
		t.Errorf("60 A records over UDP with EDNS0 4096: err %v, response %v", err, r)
	}

	// A truncated upstream answer is fetched again over TCP; a client that
	// takes 4096 bytes over UDP gets it whole, one that takes 512 truncated.
	m = new(dns.Msg).SetQuestion("big.example.", dns.TypeA).SetEdns0(4096, false)
	if r, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(m, addr); err != nil || r.Truncated || len(r.Answer) != 40 {
		t.Errorf("big.example over UDP with EDNS0 4096: err %v, response %v", err, r)
	}
	if r := query(t, "udp", addr, "big.example", dns.TypeA); !r.Truncated {
		t.Errorf("big.example over UDP without EDNS0: not truncated (%d answers)", len(r.Answer))
	}
	asked := up.transports()
	if !slices.Contains(asked, "udp big.example.") || !slices.Contains(asked, "tcp big.example.") {
		t.Errorf("upstream was asked %q, want big.example. over UDP then TCP", asked)
	}

	// Metrics: queries by type and rcode, forward exchanges.
	for _, m := range []struct {
		name   string
		labels map[string]string
	}{
		{"berth_dns_queries_total", map[string]string{"type": "A", "rcode": "NOERROR"}},
		{"berth_dns_queries_total", map[string]string{"type": "A", "rcode": "NXDOMAIN"}},
		{"berth_dns_queries_total", map[string]string{"type": "AAAA", "rcode": "NOERROR"}},
		{"berth_dns_forward_duration_seconds", map[string]string{"result": "ok"}},
	} {
		if n := metricCount(t, reg, m.name, m.labels); n == 0 {
			t.Errorf("metric %s%v: no count", m.name, m.labels)
		}
	}
}

// metricCount returns the value of a counter, or the sample count of a
// histogram, with the given labels in reg.
func metricCount(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestServerUpdates checks that answers follow Services and EndpointSlices
// as they change.
func TestServerUpdates(t *testing.T) {
	client := fake.NewClientset(testObjects()...)
	_, addr := startServer(t, Options{Client: client, Upstreams: []string{silentUpstream(t)}})
	ctx := context.Background()

	if err := client.CoreV1().Services("demo").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hello deleted", func() string {
		return summary(query(t, "udp", addr, "hello.demo.svc.cluster.local", dns.TypeA))
	}, `NXDOMAIN tc=false answer=[] ns=1`)

	svc := clusterIPService("demo", "hello", []string{"10.96.0.99"})
	if _, err := client.CoreV1().Services("demo").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hello created again", func() string {
		return summary(query(t, "udp", addr, "hello.demo.svc.cluster.local", dns.TypeA))
	}, `NOERROR tc=false answer=["hello.demo.svc.cluster.local. 5 IN A 10.96.0.99"] ns=0`)

	s, err := client.DiscoveryV1().EndpointSlices("demo").Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Endpoints {
		if *s.Endpoints[i].Hostname == "db-1" {
			s.Endpoints[i].Conditions.Ready = ptrTo(false)
		}
	}
	if _, err := client.DiscoveryV1().EndpointSlices("demo").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "db-1 not ready", func() string {
		return summary(query(t, "udp", addr, "db.demo.svc.cluster.local", dns.TypeA))
	}, `NOERROR tc=false answer=["db.demo.svc.cluster.local. 5 IN A 10.42.0.20" "db.demo.svc.cluster.local. 5 IN A 10.42.0.22"] ns=0`)
}

// TestServerForwardFailover checks that a forwarded query goes to the next
// upstream when one does not answer, and gets SERVFAIL when none does.
func TestServerForwardFailover(t *testing.T) {
	up := startLoopbackUpstream(t)
	_, addr := startServer(t, Options{Upstreams: []string{silentUpstream(t), up.addr}, ForwardTimeout: 200 * time.Millisecond})
	if got, want := summary(query(t, "udp", addr, "example.com", dns.TypeA)), `NOERROR tc=false answer=["example.com. 5 IN A 192.0.2.1"] ns=0`; got != want {
		t.Errorf("silent upstream, then a live one:\n got %s\nwant %s", got, want)
	}
	_, addr = startServer(t, Options{Upstreams: []string{silentUpstream(t), silentUpstream(t)}, ForwardTimeout: 200 * time.Millisecond})
	for _, netw := range []string{"udp", "tcp"} {
		if got, want := summary(query(t, netw, addr, "example.com", dns.TypeA)), `SERVFAIL tc=false answer=[] ns=0`; got != want {
			t.Errorf("two silent upstreams over %s:\n got %s\nwant %s", netw, got, want)
		}
	}
}

// eventually polls get until it returns want, failing the test after 30s.
func eventually(t *testing.T, what string, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if got = get(); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: after 30s got %s\n want %s\n%s", what, got, want, cmp.Diff(want, got))
}

// TestRunErrors checks that Run fails when it cannot listen (the address is
// not the machine's) and returns nil when its context ends first.
func TestRunErrors(t *testing.T) {
	s, err := New(Options{Client: fake.NewClientset(), Listen: []string{"192.0.2.123:53"}, Upstreams: []string{"192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen on udp 192.0.2.123:53") {
		t.Errorf("Run on an address that is not local: %v, want a listen error", err)
	}

	s, err = New(Options{Client: fake.NewClientset(), Listen: []string{"127.0.0.1:0"}, Upstreams: []string{"192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Errorf("Run with an ended context: %v, want nil", err)
	}
}
