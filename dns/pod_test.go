package dns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet/network"
)

// The stand-in pod's network: a bridge in the node, the pod behind it.
const (
	podBridge  = "berth0"
	podGateway = "10.42.0.1"
	podIP      = "10.42.0.5"
	// upstreamAddr is the fake upstream resolver, inside the node.
	upstreamAddr = "127.0.0.1:5353"
	// kubeDNSIP is the kube-dns Service's cluster IP.
	kubeDNSIP = "10.96.0.10"
)

// podSearch and podNdots are the pod's resolv.conf, as the kubelet writes
// it for a pod in namespace demo.
var podSearch = []string{"demo.svc.cluster.local.", "svc.cluster.local.", "cluster.local."}

const podNdots = 5

// TestPodResolves runs the server in a node's network namespace at
// 169.254.20.10:53, over a real API server, and resolves names from a
// stand-in pod behind the node's bridge, with the pod's search path.
func TestPodResolves(t *testing.T) {
	node := netnstest.NewNode(t, "dns")
	if err := AddLocalAddress(node.Path, DefaultLocalAddress); err != nil {
		t.Fatal(err)
	}
	pod := newPod(t, node)

	ts := testserver.Start(t, apiserver.Options{})
	ctx := context.Background()
	c := ts.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hello := createService(t, c.CoreV1().Services("demo"), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
	})
	createService(t, c.CoreV1().Services("demo"), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Name: "pg", Protocol: corev1.ProtocolTCP, Port: 5432}}},
	})
	dbSlice := slice("demo", "db", "db-abcde", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("pg", corev1.ProtocolTCP, 5432)},
		testEndpoint{addr: "10.42.0.20", hostname: "db-0", ready: ptrTo(true)},
		testEndpoint{addr: "10.42.0.21", hostname: "db-1", ready: ptrTo(true)})
	if _, err := c.DiscoveryV1().EndpointSlices("demo").Create(ctx, dbSlice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The fake upstream lives in the node, where the server forwards from.
	var up *fakeUpstream
	if err := node.Run(func() error {
		pc, err := net.ListenPacket("udp", upstreamAddr)
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", upstreamAddr)
		if err != nil {
			pc.Close()
			return err
		}
		up = startUpstream(t, pc, l)
		return nil
	}); err != nil {
		t.Fatalf("start the upstream in the node: %v", err)
	}

	startServer(t, Options{Client: c, NetNS: node.Path, Listen: []string{DefaultListen},
		Upstreams: []string{upstreamAddr}, Registry: prometheus.NewRegistry()})

	helloIP := hello.Spec.ClusterIP
	for _, tc := range []struct {
		netw, name string
		qtype      uint16
		answeredBy string // the expanded name that answered
		want       []string
	}{
		{"udp", "hello", dns.TypeA, "hello.demo.svc.cluster.local.",
			[]string{"hello.demo.svc.cluster.local. 5 IN A " + helloIP}},
		{"tcp", "hello", dns.TypeA, "hello.demo.svc.cluster.local.",
			[]string{"hello.demo.svc.cluster.local. 5 IN A " + helloIP}},
		{"udp", "hello.demo", dns.TypeA, "hello.demo.svc.cluster.local.",
			[]string{"hello.demo.svc.cluster.local. 5 IN A " + helloIP}},
		{"udp", "hello.demo.svc.cluster.local", dns.TypeA, "hello.demo.svc.cluster.local.",
			[]string{"hello.demo.svc.cluster.local. 5 IN A " + helloIP}},
		{"udp", "_http._tcp.hello", dns.TypeSRV, "_http._tcp.hello.demo.svc.cluster.local.",
			[]string{"_http._tcp.hello.demo.svc.cluster.local. 5 IN SRV 0 100 80 hello.demo.svc.cluster.local."}},
		{"udp", "db", dns.TypeA, "db.demo.svc.cluster.local.",
			[]string{"db.demo.svc.cluster.local. 5 IN A 10.42.0.20", "db.demo.svc.cluster.local. 5 IN A 10.42.0.21"}},
		{"udp", "db-1.db", dns.TypeA, "db-1.db.demo.svc.cluster.local.",
			[]string{"db-1.db.demo.svc.cluster.local. 5 IN A 10.42.0.21"}},
		{"udp", "_pg._tcp.db.demo", dns.TypeSRV, "_pg._tcp.db.demo.svc.cluster.local.",
			[]string{
				"_pg._tcp.db.demo.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.demo.svc.cluster.local.",
				"_pg._tcp.db.demo.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.demo.svc.cluster.local.",
			}},
		{"udp", "10-42-0-5.demo.pod", dns.TypeA, "10-42-0-5.demo.pod.cluster.local.",
			[]string{"10-42-0-5.demo.pod.cluster.local. 5 IN A 10.42.0.5"}},
		{"udp", "example.com", dns.TypeA, "example.com.",
			[]string{"example.com. 5 IN A 192.0.2.1"}},
		{"tcp", "example.com", dns.TypeA, "example.com.",
			[]string{"example.com. 5 IN A 192.0.2.1"}},
	} {
		by, resp := pod.resolve(t, tc.netw, tc.name, tc.qtype)
		if got := rrStrings(resp.Answer); by != tc.answeredBy || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("pod resolves %s %s over %s: answered by %q: %q\nwant %q: %q",
				tc.name, dns.TypeToString[tc.qtype], tc.netw, by, got, tc.answeredBy, tc.want)
		}
	}
	// SRV answers carry their targets' addresses.
	if _, resp := pod.resolve(t, "udp", "_http._tcp.hello", dns.TypeSRV); strings.Join(rrStrings(resp.Extra), "\n") != "hello.demo.svc.cluster.local. 5 IN A "+helloIP {
		t.Errorf("SRV additional section: %q", rrStrings(resp.Extra))
	}
	// The upstream saw only the name outside the cluster, never the cluster
	// domain's expansions of it.
	for _, q := range up.transports() {
		if strings.Contains(q, "cluster.local") {
			t.Errorf("upstream was asked %q", q)
		}
	}

	// An unknown Service: NXDOMAIN with the SOA.
	if resp := pod.query(t, "udp", "nope.demo.svc.cluster.local.", dns.TypeA); summary(resp) != "NXDOMAIN tc=false answer=[] ns=1" {
		t.Errorf("nope.demo.svc.cluster.local.: %s", summary(resp))
	}

	// The node itself reaches the server too.
	if err := node.Run(func() error {
		resp, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(
			new(dns.Msg).SetQuestion("hello.demo.svc.cluster.local.", dns.TypeA), DefaultListen)
		if err == nil && len(resp.Answer) != 1 {
			err = fmt.Errorf("answer %q", rrStrings(resp.Answer))
		}
		return err
	}); err != nil {
		t.Errorf("query from the node: %v", err)
	}

	// glibc's resolver in the pod, with the pod's resolv.conf.
	t.Run("glibc", func(t *testing.T) {
		for name, want := range map[string]string{"hello": helloIP, "db-0.db": "10.42.0.20", "example.com": "192.0.2.1"} {
			if got := pod.getent(t, name); got != want {
				t.Errorf("getent ahostsv4 %s in the pod: %q, want %s", name, got, want)
			}
		}
	})

	// Through the kube-dns Service's cluster IP, DNATed to the node-local
	// address as kube-proxy does (its rule, written by hand in the node).
	t.Run("kube-dns ClusterIP", func(t *testing.T) {
		requireBinary(t, "iptables", "iptables")
		for _, proto := range []string{"udp", "tcp"} {
			if _, err := node.Exec("iptables", "-t", "nat", "-A", "PREROUTING", "-d", kubeDNSIP, "-p", proto,
				"--dport", "53", "-j", "DNAT", "--to-destination", DefaultListen); err != nil {
				t.Fatal(err)
			}
		}
		for _, netw := range []string{"udp", "tcp"} {
			resp := pod.queryAt(t, kubeDNSIP+":53", netw, "hello.demo.svc.cluster.local.", dns.TypeA)
			if got, want := rrStrings(resp.Answer), "hello.demo.svc.cluster.local. 5 IN A "+helloIP; len(got) != 1 || got[0] != want {
				t.Errorf("query over %s to %s from the pod: %q, want %q", netw, kubeDNSIP, got, want)
			}
		}
	})

	// Updates: the Service deleted, created again with another IP; an
	// endpoint turned not ready.
	const helloFQDN = "hello.demo.svc.cluster.local."
	if err := c.CoreV1().Services("demo").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hello deleted", func() string { return summary(pod.query(t, "udp", helloFQDN, dns.TypeA)) },
		"NXDOMAIN tc=false answer=[] ns=1")
	hello = createService(t, c.CoreV1().Services("demo"), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080, Protocol: corev1.ProtocolTCP}}},
	})
	eventually(t, "hello created again", func() string { return summary(pod.query(t, "udp", helloFQDN, dns.TypeA)) },
		fmt.Sprintf(`NOERROR tc=false answer=["hello.demo.svc.cluster.local. 5 IN A %s"] ns=0`, hello.Spec.ClusterIP))

	s, err := c.DiscoveryV1().EndpointSlices("demo").Get(ctx, "db-abcde", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Endpoints[0].Conditions.Ready = ptrTo(false) // db-0
	if _, err := c.DiscoveryV1().EndpointSlices("demo").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "db-0 not ready", func() string { return summary(pod.query(t, "udp", "db.demo.svc.cluster.local.", dns.TypeA)) },
		`NOERROR tc=false answer=["db.demo.svc.cluster.local. 5 IN A 10.42.0.21"] ns=0`)
	eventually(t, "db-0 not ready", func() string { return summary(pod.query(t, "udp", "db-0.db.demo.svc.cluster.local.", dns.TypeA)) },
		`NXDOMAIN tc=false answer=[] ns=1`)
}

// createService creates a Service and returns it as the server stored it
// (with its cluster IP).
func createService(t *testing.T, c interface {
	Create(context.Context, *corev1.Service, metav1.CreateOptions) (*corev1.Service, error)
}, svc *corev1.Service) *corev1.Service {
	t.Helper()
	got, err := c.Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Service %s: %v", svc.Name, err)
	}
	return got
}

// testPod is a network namespace standing in for a pod: eth0 with podIP
// on the node's bridge, default route through the node.
type testPod struct {
	name, path string
}

// newPod creates the node's bridge and a pod namespace behind it, both
// removed when the test ends.
func newPod(t *testing.T, node *netnstest.Node) *testPod {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	p := &testPod{name: "berth-dnspod-" + hex.EncodeToString(b[:])}
	p.path = "/run/netns/" + p.name
	run(t, "ip", "netns", "add", p.name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", p.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", p.name, err, out)
		}
	})
	veth := "veth" + hex.EncodeToString(b[:])
	for _, args := range [][]string{
		{"-n", node.Name, "link", "add", podBridge, "type", "bridge"},
		{"-n", node.Name, "addr", "add", podGateway + "/24", "dev", podBridge},
		{"-n", node.Name, "link", "set", podBridge, "up"},
		{"-n", p.name, "link", "set", "lo", "up"},
		{"-n", p.name, "link", "add", "eth0", "type", "veth", "peer", "name", veth, "netns", node.Name},
		{"-n", node.Name, "link", "set", veth, "master", podBridge, "up"},
		{"-n", p.name, "addr", "add", podIP + "/24", "dev", "eth0"},
		{"-n", p.name, "link", "set", "eth0", "up"},
		{"-n", p.name, "route", "add", "default", "via", podGateway},
	} {
		run(t, "ip", args...)
	}
	return p
}

// run runs a command, failing the test when it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// query asks the server at the node-local address from inside the pod.
func (p *testPod) query(t *testing.T, netw, fqdn string, qtype uint16) *dns.Msg {
	t.Helper()
	return p.queryAt(t, DefaultListen, netw, fqdn, qtype)
}

// queryAt asks the server at addr from inside the pod.
func (p *testPod) queryAt(t *testing.T, addr, netw, fqdn string, qtype uint16) *dns.Msg {
	t.Helper()
	var resp *dns.Msg
	err := network.Do(p.path, func() error {
		var err error
		resp, _, err = (&dns.Client{Net: netw, Timeout: 10 * time.Second}).Exchange(
			new(dns.Msg).SetQuestion(fqdn, qtype), addr)
		return err
	})
	if err != nil {
		t.Fatalf("query %s %s over %s from the pod: %v", fqdn, dns.TypeToString[qtype], netw, err)
	}
	return resp
}

// resolve resolves name as the pod's stub resolver would with its search
// path and ndots: a name with fewer than ndots dots is tried with each
// search domain first, then as it is; resolution stops at the first answer
// with records. It returns the name that answered and its response (the
// last one when none answered).
func (p *testPod) resolve(t *testing.T, netw, name string, qtype uint16) (string, *dns.Msg) {
	t.Helper()
	var candidates []string
	switch {
	case strings.HasSuffix(name, "."):
		candidates = []string{name}
	case strings.Count(name, ".") >= podNdots:
		candidates = append([]string{name + "."}, expand(name)...)
	default:
		candidates = append(expand(name), name+".")
	}
	var resp *dns.Msg
	for _, c := range candidates {
		resp = p.query(t, netw, c, qtype)
		if resp.Rcode == dns.RcodeSuccess && len(resp.Answer) > 0 {
			return c, resp
		}
	}
	return "", resp
}

// expand returns name under each of the pod's search domains.
func expand(name string) []string {
	var out []string
	for _, d := range podSearch {
		out = append(out, name+"."+d)
	}
	return out
}

// getent resolves name with glibc inside the pod (getent ahostsv4), its
// /etc/resolv.conf the pod's (bind-mounted in a private mount namespace),
// and returns the first address.
func (p *testPod) getent(t *testing.T, name string) string {
	t.Helper()
	requireBinary(t, "unshare", "util-linux")
	requireBinary(t, "getent", "libc-bin")
	requireBinary(t, "mount", "mount")
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	content := fmt.Sprintf("nameserver %s\nsearch %s\noptions ndots:%d timeout:5 attempts:1\n",
		DefaultLocalAddress, strings.Join(trimDots(podSearch), " "), podNdots)
	if err := os.WriteFile(conf, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// unshare --mount makes the mount namespace private, so the bind mount
	// never reaches the machine's /etc/resolv.conf.
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && exec ip netns exec "$2" getent ahostsv4 "$3"`,
		"sh", conf, p.name, name).CombinedOutput()
	if err != nil {
		t.Fatalf("getent ahostsv4 %s in the pod: %v: %s", name, err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// requireBinary skips the test when bin is missing, or fails it when
// CI=true (CI installs the Debian package pkg).
func requireBinary(t *testing.T, bin, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: apt-get install %s (CI=true, so not skipping)", bin, pkg)
		}
		t.Skipf("%s not found: apt-get install %s", bin, pkg)
	}
}

// trimDots drops the final dots of names.
func trimDots(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, strings.TrimSuffix(n, "."))
	}
	return out
}
