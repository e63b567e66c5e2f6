package kubeproxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubeproxy"
)

// ioTimeout bounds every dial and read so that a dropped packet fails a
// test instead of hanging it; it is no timing assertion.
const ioTimeout = 10 * time.Second

// nodeName is the node the proxy under test runs on.
const nodeName = "node-a"

// env is one node in a network namespace with a pod bridge and stand-in
// pods, an API server, and a way to run the proxy.
type env struct {
	t       *testing.T
	node    *netnstest.Node // 192.168.234.10, runs the proxy
	outside *netnstest.Node // 192.168.234.11, a client on the same link
	pods    []*pod
	client  kubernetes.Interface // admin, for the test's own writes
	// nodeClient has the node role, as the agent's kube-proxy does.
	nodeClient kubernetes.Interface
}

// pod is a network namespace on the node's bridge running an HTTP server
// on 8080 that answers "NAME REMOTEADDR", a line echo on 9090 that
// answers "NAME: LINE", and a UDP server on 5353 that answers NAME.
type pod struct {
	name string
	path string
	ip   string
}

// requireTools skips the test without root or the tools (fails it with
// CI=true).
func requireTools(t *testing.T) {
	t.Helper()
	netnstest.Require(t)
	for _, b := range append([]string{"iptables-nft", "bridge"}, kubeproxy.Binaries...) {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: apt-get install iptables conntrack iproute2 (CI=true, so not skipping)", b)
			}
			t.Skipf("%s not found: apt-get install iptables conntrack iproute2", b)
		}
	}
}

// newEnv builds the node: bridge berth0 10.42.0.1/24 with hairpin ports,
// forwarding and br_netfilter on, nPods pods at 10.42.0.11 and up, and
// the masquerade rules the CNI bridge plugin would add with the nft
// backend, so that berth's legacy rules run beside them.
func newEnv(t *testing.T, nPods int) *env {
	t.Helper()
	requireTools(t)
	nodes := netnstest.NewBridgedNodes(t, 2)
	e := &env{t: t, node: nodes[0], outside: nodes[1]}
	run := func(n *netnstest.Node, args ...string) {
		t.Helper()
		if _, err := n.Exec(args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	run(e.node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	run(e.node, "ip", "link", "add", "berth0", "type", "bridge")
	run(e.node, "ip", "addr", "add", "10.42.0.1/24", "dev", "berth0")
	run(e.node, "ip", "link", "set", "berth0", "up")
	run(e.node, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
	run(e.node, "iptables-nft", "-t", "nat", "-N", "CNI-BERTH-TEST")
	run(e.node, "iptables-nft", "-t", "nat", "-A", "CNI-BERTH-TEST", "-d", "10.42.0.0/24", "-j", "ACCEPT")
	run(e.node, "iptables-nft", "-t", "nat", "-A", "CNI-BERTH-TEST", "!", "-d", "224.0.0.0/4", "-j", "MASQUERADE")
	run(e.node, "iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-s", "10.42.0.0/24", "-j", "CNI-BERTH-TEST")
	for i := 1; i <= nPods; i++ {
		p := &pod{name: fmt.Sprintf("pod%d", i), ip: fmt.Sprintf("10.42.0.%d", 10+i)}
		ns := fmt.Sprintf("%s-p%d", e.node.Name, i)
		p.path = "/run/netns/" + ns
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
			}
		})
		veth := fmt.Sprintf("vp%d", i)
		run(e.node, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run(e.node, "ip", "link", "set", veth, "master", "berth0")
		run(e.node, "ip", "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
		run(e.node, "ip", "link", "set", veth, "up")
		for _, args := range [][]string{
			{"link", "set", "lo", "up"},
			{"addr", "add", p.ip + "/24", "dev", "eth0"},
			{"link", "set", "eth0", "up"},
			{"route", "add", "default", "via", "10.42.0.1"},
		} {
			if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip -n %s %v: %v: %s", ns, args, err, out)
			}
		}
		p.serve(t)
		e.pods = append(e.pods, p)
	}
	ts := testserver.Start(t, apiserver.Options{})
	e.client, e.nodeClient = ts.Client, ts.ClientFor(auth.RoleNode)
	e.createNode()
	return e
}

// serve starts the pod's servers, stopped when the test ends.
func (p *pod) serve(t *testing.T) {
	t.Helper()
	var hl, el net.Listener
	var ul net.PacketConn
	err := network.Do(p.path, func() error {
		var err error
		if hl, err = net.Listen("tcp4", ":8080"); err != nil {
			return err
		}
		if el, err = net.Listen("tcp4", ":9090"); err != nil {
			return err
		}
		ul, err = net.ListenPacket("udp4", ":5353")
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", p.name, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", p.name, r.RemoteAddr)
	}), ReadHeaderTimeout: ioTimeout}
	go srv.Serve(hl)
	go func() {
		for {
			c, err := el.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s: %s\n", p.name, sc.Text())
				}
			}()
		}
	}()
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			ul.WriteTo([]byte(p.name), from)
		}
	}()
	t.Cleanup(func() { srv.Close(); el.Close(); ul.Close() })
}

// createNode registers the node, Ready, with its InternalIP.
func (e *env) createNode() {
	ctx := context.Background()
	n, err := e.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: e.node.IP.String()}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// startProxy runs a proxy on the node until the returned stop is called
// (or the test ends).
func (e *env) startProxy() (stop func()) {
	e.t.Helper()
	p, err := kubeproxy.New(kubeproxy.Options{
		Client:        e.nodeClient,
		NodeName:      nodeName,
		NetNS:         e.node.Path,
		MinSyncPeriod: 100 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			e.t.Errorf("proxy Run: %v", err)
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// service creates a selector-less Service with ports http 80->8080 and
// echo 9090->9090 (plus what mod changes) and returns it as stored.
func (e *env) service(name string, mod func(*corev1.Service)) *corev1.Service {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
			{Name: "echo", Port: 9090, Protocol: corev1.ProtocolTCP},
		}},
	}
	if mod != nil {
		mod(svc)
	}
	svc, err := e.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create service %s: %v", name, err)
	}
	return svc
}

// endpoint is a pod in an EndpointSlice and whether it is ready.
type endpoint struct {
	pod   *pod
	ready bool
}

// slice creates or replaces the EndpointSlice of Service svc with eps,
// whose ports are those of the Service, on 8080 for http and 9090 for echo,
// 5353 for dns.
func (e *env) slice(svc string, eps ...endpoint) {
	e.t.Helper()
	ctx := context.Background()
	name, proto := func(s string) *string { return &s }, func(p corev1.Protocol) *corev1.Protocol { return &p }
	port := func(p int32) *int32 { return &p }
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{
			{Name: name("http"), Port: port(8080), Protocol: proto(corev1.ProtocolTCP)},
			{Name: name("echo"), Port: port(9090), Protocol: proto(corev1.ProtocolTCP)},
			{Name: name("dns"), Port: port(5353), Protocol: proto(corev1.ProtocolUDP)},
		},
	}
	for _, ep := range eps {
		ready := ep.ready
		n := nodeName
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.pod.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName:   &n,
		})
	}
	cur, err := e.client.DiscoveryV1().EndpointSlices("default").Get(ctx, s.Name, metav1.GetOptions{})
	if err == nil {
		s.ResourceVersion = cur.ResourceVersion
		_, err = e.client.DiscoveryV1().EndpointSlices("default").Update(ctx, s, metav1.UpdateOptions{})
	} else {
		_, err = e.client.DiscoveryV1().EndpointSlices("default").Create(ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		e.t.Fatalf("write endpoint slice of %s: %v", svc, err)
	}
}

// get makes one HTTP request, on a new connection dialled inside the
// namespace at netns, and returns the body.
func get(netns, url string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, nw, addr string) (net.Conn, error) {
		return dialIn(netns, nw, addr)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: ioTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// dialIn dials addr from inside the namespace at netns.
func dialIn(netns, nw, addr string) (net.Conn, error) {
	var c net.Conn
	err := network.Do(netns, func() error {
		var err error
		c, err = net.DialTimeout(nw, addr, ioTimeout)
		return err
	})
	return c, err
}

// eventually polls cond every 50 ms until it holds, failing the test after
// a generous bound (not a timing assertion: a hang guard).
func (e *env) eventually(what string, cond func() bool) time.Duration {
	e.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 60*time.Second {
			e.t.Fatalf("%s: still not true after 60s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// names makes n requests to url from netns and counts the answering pods
// (the first word of each body).
func (e *env) names(netns, url string, n int) map[string]int {
	e.t.Helper()
	seen := map[string]int{}
	for range n {
		body, err := get(netns, url)
		if err != nil {
			e.t.Fatalf("GET %s from %s: %v", url, netns, err)
		}
		seen[strings.Fields(body)[0]]++
	}
	return seen
}

// chains lists berth's chains in the node's nat table.
func (e *env) chains() string {
	e.t.Helper()
	out, err := e.node.Exec("iptables-legacy-save", "-t", "nat")
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, ":BERTH-") {
			names = append(names, strings.Fields(l)[0][1:])
		}
	}
	return strings.Join(names, " ")
}

// waitRule waits until a rule containing substr is in the node's nat
// table, so that no probe connection is made before the rules exist (its
// conntrack entry would keep it un-NATed until it expires).
func (e *env) waitRule(substr string) {
	e.t.Helper()
	e.eventually("rule "+substr, func() bool {
		out, err := e.node.Exec("iptables-legacy-save", "-t", "nat")
		return err == nil && strings.Contains(out, substr)
	})
}
