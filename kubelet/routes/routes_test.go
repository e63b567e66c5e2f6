package routes_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet/routes"
)

// waitTimeout bounds every wait; it is no timing assertion.
const waitTimeout = 30 * time.Second

// TestRoutes runs the component in the first of two bridged nodes against a
// real API server: it removes the stale routes of a previous run and keeps
// a route it did not write, routes the other nodes' pod CIDRs so that a
// "pod" address on the second node answers, follows address changes and
// removals, leaves out a node whose address is on no network of the node
// (a pod CIDR, once set, cannot be taken away through the API;
// Desired's table covers a node without one), and puts routes back after the uplink went down and up.
func TestRoutes(t *testing.T) {
	nodes := netnstest.NewBridgedNodes(t, 2)
	n0, n1 := nodes[0], nodes[1]
	// A stale route of a previous run, and one of someone else.
	mustExec(t, n0, "ip", "route", "add", "10.42.9.0/24", "via", "192.168.234.11", "proto", fmt.Sprint(routes.Protocol))
	mustExec(t, n0, "ip", "route", "add", "10.99.0.0/24", "via", "192.168.234.11", "proto", "static")
	// The second node's "pod": an address of its pod CIDR, on its lo.
	mustExec(t, n1, "ip", "addr", "add", "10.42.1.5/32", "dev", "lo")
	ln := listen(t, n1, "10.42.1.5:7000")
	go answer(ln, "pod on node-1")

	ts := testserver.Start(t, apiserver.Options{})
	ctx := context.Background()
	createNode(t, ts.Client, "node-0", "10.42.0.0/24", n0.IP.String())
	createNode(t, ts.Client, "node-1", "10.42.1.0/24", n1.IP.String())
	createNode(t, ts.Client, "node-2", "10.42.2.0/24", "192.168.234.12")
	// A node on another network: no route can go through it.
	createNode(t, ts.Client, "faraway", "10.42.7.0/24", "192.0.2.7")

	r, err := routes.New(routes.Options{
		Client: ts.Client, NodeName: "node-0", NetNS: n0.Path, ResyncPeriod: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}
	defer func() {
		if rctx.Err() == nil {
			stop()
		}
	}()

	waitRoutes(t, n0, "10.42.1.0/24 via 192.168.234.11", "10.42.2.0/24 via 192.168.234.12")
	if out := mustExec(t, n0, "ip", "route", "show", "10.99.0.0/24"); !strings.Contains(out, "via 192.168.234.11") {
		t.Errorf("a route of another protocol was touched: %q", out)
	}
	if got, err := dialFrom(n0, "10.42.1.5:7000"); err != nil || got != "pod on node-1" {
		t.Errorf("node-0 dials the pod address on node-1: %q, %v", got, err)
	}

	t.Run("address changes", func(t *testing.T) {
		setAddress(t, ts.Client, "node-2", "192.168.234.22")
		waitRoutes(t, n0, "10.42.1.0/24 via 192.168.234.11", "10.42.2.0/24 via 192.168.234.22")
	})
	t.Run("node deleted", func(t *testing.T) {
		if err := ts.Client.CoreV1().Nodes().Delete(ctx, "node-2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRoutes(t, n0, "10.42.1.0/24 via 192.168.234.11")
	})
	t.Run("uplink down and up", func(t *testing.T) {
		mustExec(t, n0, "ip", "link", "set", netnstest.Uplink, "down")
		waitRoutes(t, n0) // the kernel drops routes through a link that goes down
		mustExec(t, n0, "ip", "link", "set", netnstest.Uplink, "up")
		waitRoutes(t, n0, "10.42.1.0/24 via 192.168.234.11")
		if got, err := dialFrom(n0, "10.42.1.5:7000"); err != nil || got != "pod on node-1" {
			t.Errorf("node-0 dials the pod address on node-1 after the uplink came back: %q, %v", got, err)
		}
	})

	stop()
	if got := ourRoutes(t, n0); !slices.Equal(got, []string{"10.42.1.0/24 via 192.168.234.11"}) {
		t.Errorf("routes after Run returned: %q; want them kept", got)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := routes.New(routes.Options{NodeName: "n"}); err == nil {
		t.Error("New without a client: no error")
	}
	if _, err := routes.New(routes.Options{Client: &kubernetes.Clientset{}}); err == nil {
		t.Error("New without a node name: no error")
	}
}

// createNode creates a Node with a pod CIDR and an InternalIP.
func createNode(t *testing.T, c kubernetes.Interface, name, cidr, ip string) {
	t.Helper()
	_, err := c.CoreV1().Nodes().Create(context.Background(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	setAddress(t, c, name, ip)
}

// setAddress makes ip the node's only InternalIP.
func setAddress(t *testing.T, c kubernetes.Interface, name, ip string) {
	t.Helper()
	ctx := context.Background()
	n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

// ourRoutes lists the node's routes of the package's protocol as
// "DST via GW".
func ourRoutes(t *testing.T, n *netnstest.Node) []string {
	t.Helper()
	out := mustExec(t, n, "ip", "-4", "route", "show", "proto", fmt.Sprint(routes.Protocol))
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 {
			got = append(got, strings.Join(f[:3], " "))
		}
	}
	return got
}

// waitRoutes waits until the node's routes of the package's protocol are
// want.
func waitRoutes(t *testing.T, n *netnstest.Node, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := ourRoutes(t, n)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("routes of protocol %d: %q, want %q", routes.Protocol, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustExec(t *testing.T, n *netnstest.Node, name string, args ...string) string {
	t.Helper()
	out, err := n.Exec(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// listen opens a TCP listener inside node, closed when the test ends.
func listen(t *testing.T, node *netnstest.Node, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := node.Run(func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, node.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// answer writes line to every connection until ln is closed.
func answer(ln net.Listener, line string) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(conn, line)
		conn.Close()
	}
}

// dialFrom connects to addr from inside node and returns the line read.
func dialFrom(node *netnstest.Node, addr string) (string, error) {
	var conn net.Conn
	if err := node.Run(func() error {
		var err error
		conn, err = net.DialTimeout("tcp4", addr, 10*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", err
	}
	b := make([]byte, 64)
	k, err := conn.Read(b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b[:k])), nil
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
