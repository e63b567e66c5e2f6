package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	berthdns "github.com/berth-dev/berth/dns"
	"github.com/berth-dev/berth/kubelet"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubeproxy"
)

// nodeLocalDNS is the node-local DNS address pods get as nameserver.
const nodeLocalDNS = "169.254.20.10"

// outsideName is a name outside the cluster that only the test's fake
// upstream resolver knows, at outsideIP.
const (
	outsideName = "outside.example."
	outsideIP   = "192.0.2.7"
)

// TestServicesAndDNS runs real pods behind a Service on a node with the
// kubelet, the EndpointSlice controller, kube-proxy and the node-local DNS
// server, as `berth agent` and `berth server` run them: the Service answers
// from every replica through its ClusterIP (from the node and from a pod,
// by name) and its NodePort, and a pod resolves Service names with its
// search path, an SRV name, and a name outside the cluster through the
// forwarder.
func TestServicesAndDNS(t *testing.T) {
	c := startCluster(t, func(o *kubelet.Options) { o.ClusterDNS = []string{nodeLocalDNS} })
	c.startServices(t)
	ctx := context.Background()
	const ns = "demo"
	if _, err := c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for i := range 3 {
		p := helloPod(ns, fmt.Sprintf("hello-%d", i))
		pods = append(pods, createPod(t, c.admin, p))
	}
	client := pod("client", box("box", "sleep 3600"))
	client.Namespace = ns
	pods = append(pods, createPod(t, c.admin, client))
	t.Cleanup(func() {
		// The namespace's pods go with the cluster; stop them first so
		// the kubelet tears their sandboxes down.
		for _, p := range pods {
			_ = c.admin.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{})
		}
		for _, p := range pods {
			waitFor(t, "pod "+p.Name+" gone", func() (struct{}, bool) {
				_, err := c.admin.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
				return struct{}{}, err != nil
			})
		}
	})
	svc, err := c.admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "hello"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		waitReady(t, c.admin, p)
	}
	ready := waitReady(t, c.admin, client)
	box := containerID(t, ready, "box")

	// Each request is a new connection, so 60 of them reach all three
	// replicas unless the balancing is broken (odds of missing one: 3·(2/3)^60).
	replicas := func(get func() string) map[string]int {
		seen := map[string]int{}
		for range 60 {
			seen[strings.TrimSpace(get())]++
		}
		return seen
	}
	clusterIP := net.JoinHostPort(svc.Spec.ClusterIP, "80")
	// The replicas are Ready; their endpoints reach the rules a moment later.
	waitFor(t, "the ClusterIP answering from three replicas", func() (map[string]int, bool) {
		seen := map[string]int{}
		for range 30 {
			body, err := tryHTTPGetIn(c.node.Path, clusterIP)
			if err != nil {
				return map[string]int{err.Error(): 1}, false
			}
			if _, line, ok := strings.Cut(body, "\r\n\r\n"); ok {
				seen[strings.TrimSpace(line)]++
			}
		}
		return seen, len(seen) == 3
	})
	t.Run("ClusterIP from the node", func(t *testing.T) {
		seen := replicas(func() string { return httpGetIn(t, c.node.Path, clusterIP, "/") })
		checkReplicas(t, seen, 3)
	})
	t.Run("NodePort on the node address", func(t *testing.T) {
		addr := net.JoinHostPort(nodeInternalIP(c.n), strconv.Itoa(int(svc.Spec.Ports[0].NodePort)))
		seen := replicas(func() string { return httpGetIn(t, c.node.Path, addr, "/") })
		checkReplicas(t, seen, 3)
	})
	t.Run("Service names from a pod", func(t *testing.T) {
		for _, name := range []string{"hello", "hello.demo", "hello.demo.svc.cluster.local"} {
			out := c.exec(t, box, "sh", "-c", "for i in $(seq 30); do wget -qO- http://"+name+"/; done")
			seen := map[string]int{}
			for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
				seen[line]++
			}
			t.Logf("%s: %v", name, seen)
			checkReplicas(t, seen, 3)
		}
	})
	t.Run("DNS records from a pod", func(t *testing.T) {
		out := c.exec(t, box, "nslookup", "-type=SRV", "_http._tcp.hello.demo.svc.cluster.local")
		if !strings.Contains(out, "80 hello.demo.svc.cluster.local") {
			t.Errorf("SRV lookup from the pod:\n%s\nwant port 80 at hello.demo.svc.cluster.local", out)
		}
		out = c.exec(t, box, "nslookup", "hello.demo.svc.cluster.local", svcDNSIP(t, c))
		if !strings.Contains(out, svc.Spec.ClusterIP) {
			t.Errorf("lookup through the kube-dns ClusterIP:\n%s\nwant %s", out, svc.Spec.ClusterIP)
		}
		out = c.exec(t, box, "nslookup", strings.TrimSuffix(outsideName, "."))
		if !strings.Contains(out, outsideIP) {
			t.Errorf("lookup of a name outside the cluster:\n%s\nwant %s from the upstream", out, outsideIP)
		}
		code, out2, err := c.rt.Exec(context.Background(), box, []string{"nslookup", "nothere.demo.svc.cluster.local"}, 10*time.Second)
		if err != nil || code == 0 || !strings.Contains(string(out2), "NXDOMAIN") {
			t.Errorf("lookup of an unknown Service: exit %d, %v:\n%s\nwant NXDOMAIN", code, err, out2)
		}
	})
}

// helloPod is a replica of hello labelled app=hello, Ready when it serves.
func helloPod(ns, name string) *corev1.Pod {
	p := pod(name, corev1.Container{
		Name: "hello", Image: "berth.dev/hello:latest", ImagePullPolicy: corev1.PullIfNotPresent,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds: 1,
		},
	})
	p.Namespace = ns
	p.Labels = map[string]string{"app": "hello"}
	return p
}

// checkReplicas fails the test unless seen holds n hello replicas' answers.
func checkReplicas(t *testing.T, seen map[string]int, n int) {
	t.Helper()
	hellos := 0
	for line := range seen {
		if strings.HasPrefix(line, "hello from hello-") {
			hellos++
		} else {
			t.Errorf("unexpected answer %q", line)
		}
	}
	if hellos != n {
		t.Errorf("answers came from %d replicas, want %d: %v", hellos, n, seen)
	}
}

// tryHTTPGetIn is httpGetIn that returns its failure instead.
func tryHTTPGetIn(netns, addr string) (string, error) {
	var conn net.Conn
	if err := network.Do(netns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if n == 0 {
		return "", err
	}
	return string(buf[:n]), nil
}

// svcDNSIP is the kube-dns Service's ClusterIP.
func svcDNSIP(t *testing.T, c *cluster) string {
	t.Helper()
	svc, err := c.admin.CoreV1().Services(metav1.NamespaceSystem).Get(context.Background(), apiserver.DNSServiceName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// startServices runs, for the cluster's node, what `berth server` and
// `berth agent` run for Services beside the kubelet: the EndpointSlice
// controller, kube-proxy, and the DNS server on the node-local address
// and the kube-dns ClusterIP, forwarding to a fake upstream inside the
// node that knows outsideName.
func (c *cluster) startServices(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	run := func(what string, fn func(context.Context) error) {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", what, err)
			}
		}()
	}
	mgr, err := controllers.New(controllers.Options{Config: c.ts.Config, Logger: logger, Controllers: []string{"endpointslice"}})
	if err != nil {
		t.Fatal(err)
	}
	run("controllers", mgr.Run)

	nodeClient := c.ts.ClientFor(auth.RoleNode)
	proxy, err := kubeproxy.New(kubeproxy.Options{Client: nodeClient, NodeName: "node-1", NetNS: c.node.Path, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	run("kube-proxy", proxy.Run)

	upstream := c.fakeUpstream(t)
	local, svcIP := netip.MustParseAddr(nodeLocalDNS), netip.MustParseAddr(svcDNSIP(t, c))
	if err := berthdns.SetupNodeLocal(c.node.Path, local, svcIP); err != nil {
		t.Fatal(err)
	}
	srv, err := berthdns.New(berthdns.Options{
		Client: nodeClient, NetNS: c.node.Path, Upstreams: []string{upstream}, Logger: logger,
		Listen: []string{netip.AddrPortFrom(local, 53).String(), netip.AddrPortFrom(svcIP, 53).String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	run("dns", srv.Run)
	select {
	case <-srv.Ready():
	case <-time.After(waitTimeout):
		t.Fatal("DNS server not ready")
	}
}

// fakeUpstream serves outsideName on UDP on the node's loopback and
// returns its address.
func (c *cluster) fakeUpstream(t *testing.T) string {
	t.Helper()
	var pc net.PacketConn
	if err := network.Do(c.node.Path, func() error {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(outsideName, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: outsideName, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.ParseIP(outsideIP),
			})
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
