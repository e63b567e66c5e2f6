package kubeproxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/kubeproxy"
)

// TestProxy runs the proxy on a real node namespace with real iptables,
// three stand-in pods behind Services and a fourth as a client, against a
// real API server. The steps share the setup and run in order.
func TestProxy(t *testing.T) {
	e := newEnv(t, 4)
	client4 := e.pods[3].path
	stop := e.startProxy()

	hello := e.service("hello", nil)
	e.slice("hello", endpoint{e.pods[0], true}, endpoint{e.pods[1], true}, endpoint{e.pods[2], true})
	helloURL := "http://" + hello.Spec.ClusterIP + "/"
	e.waitRule(`default/hello:http/tcp" -j BERTH-SVC-`)
	e.eventually("hello answers", func() bool { _, err := get(e.node.Path, helloURL); return err == nil })

	t.Run("ClusterIP reaches every endpoint", func(t *testing.T) {
		for _, from := range []struct{ name, netns string }{{"node", e.node.Path}, {"pod4", client4}} {
			seen := e.names(from.netns, helloURL, 300)
			t.Logf("300 requests from %s: %v", from.name, seen)
			for _, p := range e.pods[:3] {
				if seen[p.name] == 0 {
					t.Errorf("from %s: %s never answered: %v", from.name, p.name, seen)
				}
			}
		}
	})

	t.Run("session affinity ClientIP", func(t *testing.T) {
		timeout := int32(60)
		sticky := e.service("sticky", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		})
		e.slice("sticky", endpoint{e.pods[0], true}, endpoint{e.pods[1], true}, endpoint{e.pods[2], true})
		e.waitRule(`default/sticky:http/tcp" -j BERTH-SVC-`)
		if seen := e.names(client4, "http://"+sticky.Spec.ClusterIP+"/", 30); len(seen) != 1 {
			t.Errorf("30 requests from pod4 reached %v, want one pod", seen)
		}
	})

	t.Run("hairpin", func(t *testing.T) {
		self := e.service("self", nil)
		e.slice("self", endpoint{e.pods[0], true})
		url := "http://" + self.Spec.ClusterIP + "/"
		e.waitRule(`default/self:http/tcp" -j BERTH-SVC-`)
		e.eventually("self answers", func() bool { _, err := get(e.node.Path, url); return err == nil })
		body, err := get(e.pods[0].path, url)
		if err != nil || !strings.HasPrefix(body, "pod1 10.42.0.1:") {
			t.Errorf("pod1 through its own Service: %q, %v; want pod1 seeing the bridge address 10.42.0.1 (masqueraded)", body, err)
		}
		// Through a Service with other endpoints too: pod1 reaches itself
		// on some requests and the others keep its address.
		seen := map[string]int{}
		for range 60 {
			body, err := get(e.pods[0].path, helloURL)
			if err != nil {
				t.Fatalf("pod1 to hello: %v", err)
			}
			f := strings.Fields(body)
			switch {
			case f[0] == "pod1" && !strings.HasPrefix(f[1], "10.42.0.1:"):
				t.Errorf("pod1 reached itself unmasqueraded: %q", body)
			case f[0] != "pod1" && !strings.HasPrefix(f[1], "10.42.0.11:"):
				t.Errorf("pod1 reached %s masqueraded: %q", f[0], body)
			}
			seen[f[0]]++
		}
		t.Logf("60 requests from pod1 to hello: %v", seen)
		if seen["pod1"] == 0 {
			t.Errorf("pod1 never reached itself through hello: %v", seen)
		}
	})

	t.Run("NodePort and LoadBalancer on the node address", func(t *testing.T) {
		web := e.service("web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 8081, Protocol: corev1.ProtocolTCP}}
		})
		local := e.service("web-local", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}
		})
		e.slice("web", endpoint{e.pods[0], true}, endpoint{e.pods[1], true})
		e.slice("web-local", endpoint{e.pods[2], true})
		e.eventually("web's status names the node address", func() bool {
			s, err := e.client.CoreV1().Services("default").Get(context.Background(), "web", metav1.GetOptions{})
			return err == nil && len(s.Status.LoadBalancer.Ingress) == 1 && s.Status.LoadBalancer.Ingress[0].IP == e.node.IP.String()
		})
		nodeIP := e.node.IP.String()
		urls := map[string]string{
			"LoadBalancer": fmt.Sprintf("http://%s:8081/", nodeIP),
			"NodePort":     fmt.Sprintf("http://%s:%d/", nodeIP, web.Spec.Ports[0].NodePort),
		}
		for kind, url := range urls {
			e.eventually(kind+" answers from outside", func() bool { _, err := get(e.outside.Path, url); return err == nil })
			for _, from := range []struct{ name, netns string }{{"outside", e.outside.Path}, {"node", e.node.Path}, {"pod4", client4}} {
				body, err := get(from.netns, url)
				if err != nil {
					t.Errorf("%s %s from %s: %v", kind, url, from.name, err)
					continue
				}
				if f := strings.Fields(body); f[0] != "pod1" && f[0] != "pod2" {
					t.Errorf("%s from %s answered by %q", kind, from.name, body)
				}
			}
		}
		// externalTrafficPolicy Local keeps the client's address.
		url := fmt.Sprintf("http://%s:%d/", nodeIP, local.Spec.Ports[0].NodePort)
		e.eventually("web-local answers", func() bool { _, err := get(e.outside.Path, url); return err == nil })
		body, err := get(e.outside.Path, url)
		if err != nil || !strings.HasPrefix(body, "pod3 192.168.234.11:") {
			t.Errorf("Local NodePort from outside: %q, %v; want pod3 seeing 192.168.234.11", body, err)
		}
		body, err = get(e.outside.Path, urls["NodePort"])
		if err != nil || !strings.Contains(body, " 10.42.0.1:") {
			t.Errorf("Cluster NodePort from outside: %q, %v; want the client masqueraded to 10.42.0.1", body, err)
		}
	})

	t.Run("not-ready endpoint gets no new connections", func(t *testing.T) {
		e.slice("hello", endpoint{e.pods[0], true}, endpoint{e.pods[1], true}, endpoint{e.pods[2], false})
		start, last := time.Now(), time.Duration(0)
		clean := 0
		for clean < 30 {
			body, err := get(e.node.Path, helloURL)
			if err != nil {
				t.Fatalf("GET hello: %v", err)
			}
			if strings.HasPrefix(body, "pod3 ") {
				clean, last = 0, time.Since(start)
			} else {
				clean++
			}
			if time.Since(start) > time.Minute {
				t.Fatal("pod3 still answers a minute after turning not ready")
			}
		}
		t.Logf("pod3's last new connection came %v after the slice update was written", last.Round(time.Millisecond))
		if seen := e.names(client4, helloURL, 100); seen["pod3"] > 0 {
			t.Errorf("not-ready pod3 still gets connections: %v", seen)
		}
	})

	t.Run("UDP conntrack of a removed endpoint is flushed", func(t *testing.T) {
		dns := e.service("dns", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}
		})
		e.slice("dns", endpoint{e.pods[0], true})
		e.waitRule(`default/dns:dns/udp" -j BERTH-SVC-`)
		conn, err := dialIn(client4, "udp4", dns.Spec.ClusterIP+":53")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ask := func() string {
			conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := conn.Write([]byte("q")); err != nil {
				return ""
			}
			buf := make([]byte, 64)
			n, err := conn.Read(buf)
			if err != nil {
				return ""
			}
			return string(buf[:n])
		}
		e.eventually("dns answers from pod1", func() bool { return ask() == "pod1" })
		e.slice("dns", endpoint{e.pods[1], true})
		// The same socket (same conntrack tuple) moves to pod2 only if
		// the entry NATed to pod1 is deleted.
		took := e.eventually("dns answers from pod2 on the same socket", func() bool { return ask() == "pod2" })
		t.Logf("the UDP flow moved to the new endpoint after %v", took.Round(time.Millisecond))
	})

	t.Run("restart keeps established connections and removes stale chains", func(t *testing.T) {
		conn, err := dialIn(client4, "tcp4", hello.Spec.ClusterIP+":9090")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		var backend string
		echo := func(when string) {
			t.Helper()
			conn.SetDeadline(time.Now().Add(ioTimeout))
			if _, err := fmt.Fprintf(conn, "%s\n", when); err != nil {
				t.Fatalf("write %s: %v", when, err)
			}
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("echo %s: %v", when, err)
			}
			name, _, _ := strings.Cut(line, ":")
			if backend == "" {
				backend = name
			}
			if name != backend {
				t.Fatalf("echo %s answered by %s, was %s", when, name, backend)
			}
		}
		echo("before")
		stop()
		echo("stopped")
		selfChain := kubeproxy.ServiceChain("default/self:http/tcp")
		if !strings.Contains(e.chains(), selfChain) {
			t.Fatalf("%s missing before the test: %s", selfChain, e.chains())
		}
		if err := e.client.CoreV1().Services("default").Delete(context.Background(), "self", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		stop = e.startProxy()
		for i := range 20 {
			echo(fmt.Sprintf("restarting %d", i))
			time.Sleep(25 * time.Millisecond)
		}
		e.eventually("self's chain removed by the restarted proxy", func() bool { return !strings.Contains(e.chains(), selfChain) })
		var jumps int
		for _, table := range []string{"nat", "filter"} {
			out, err := e.node.Exec("iptables-legacy-save", "-t", table)
			if err != nil {
				t.Fatal(err)
			}
			jumps += strings.Count(out, "berth kube-proxy")
		}
		if jumps != 8 {
			t.Errorf("%d jump rules after the restart, want 8 (none added twice)", jumps)
		}
		echo("after")
		if seen := e.names(client4, helloURL, 30); len(seen) == 0 {
			t.Error("hello does not answer after the restart")
		}
		// A Service deleted while the proxy runs loses its chain too.
		webChain := kubeproxy.ServiceChain("default/web:http/tcp")
		if err := e.client.CoreV1().Services("default").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("web's chain removed", func() bool { return !strings.Contains(e.chains(), webChain) })
		echo("end")
	})

	t.Run("no endpoints: connection refused", func(t *testing.T) {
		e.slice("hello")
		var err error
		e.eventually("hello refuses", func() bool {
			_, err = get(e.node.Path, helloURL)
			return err != nil
		})
		for _, from := range []struct{ name, netns string }{{"node", e.node.Path}, {"pod4", client4}} {
			start := time.Now()
			_, err := get(from.netns, helloURL)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("from %s: %v, want connection refused", from.name, err)
			}
			t.Logf("from %s: refused after %v", from.name, time.Since(start).Round(time.Microsecond))
		}
		conn, err := dialIn(client4, "tcp4", net.JoinHostPort(hello.Spec.ClusterIP, "9090"))
		if err == nil {
			conn.Close()
			t.Error("echo port accepted a connection without endpoints")
		}
	})
}
