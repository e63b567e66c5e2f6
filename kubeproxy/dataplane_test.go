package kubeproxy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
)

// TestNodeLocalEndpoint applies testdata/dns.txt's rules (a kube-dns
// Service whose one endpoint, 169.254.20.10, is an address of every node)
// to a real node and queries the ClusterIP over UDP and TCP from the node
// and from a pod. The rules are applied directly: the API server, like
// Kubernetes, refuses link-local addresses in an EndpointSlice, so such a
// slice can only be written by the server itself.
func TestNodeLocalEndpoint(t *testing.T) {
	requireRoot(t)
	node := netnstest.NewNode(t, "kp-dns")
	const local, clusterIP = "169.254.20.10", "10.96.0.10"
	podNS := node.Name + "-pod"
	for _, args := range [][]string{
		{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		{"ip", "addr", "add", local + "/32", "dev", "lo"},
		{"ip", "link", "add", "berth0", "type", "bridge"},
		{"ip", "addr", "add", "10.42.0.1/24", "dev", "berth0"},
		{"ip", "link", "set", "berth0", "up"},
	} {
		if _, err := node.Exec(args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", podNS).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", podNS).Run() })
	for _, args := range [][]string{
		{"-n", node.Name, "link", "add", "vp1", "type", "veth", "peer", "name", "eth0", "netns", podNS},
		{"-n", node.Name, "link", "set", "vp1", "master", "berth0", "up"},
		{"-n", podNS, "link", "set", "lo", "up"},
		{"-n", podNS, "addr", "add", "10.42.0.11/24", "dev", "eth0"},
		{"-n", podNS, "link", "set", "eth0", "up"},
		{"-n", podNS, "route", "add", "default", "via", "10.42.0.1"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}

	// The node-local server, on UDP and TCP port 53.
	var ul net.PacketConn
	var tl net.Listener
	err := node.Run(func() error {
		var err error
		if ul, err = net.ListenPacket("udp4", local+":53"); err != nil {
			return err
		}
		tl, err = net.Listen("tcp4", local+":53")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ul.Close(); tl.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			ul.WriteTo([]byte("udp"), from)
		}
	}()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "tcp")
			c.Close()
		}
	}()

	in, err := parseGolden("testdata/dns.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRunner(node.Path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := r.state(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.restore(ctx, Build(in).Full(st.own)); err != nil {
		t.Fatal(err)
	}
	if err := r.addJumps(st.missing); err != nil {
		t.Fatal(err)
	}

	for _, from := range []struct{ name, netns string }{{"node", node.Path}, {"pod", "/run/netns/" + podNS}} {
		var udp, tcp string
		err := network.Do(from.netns, func() error {
			c, err := net.DialTimeout("udp4", clusterIP+":53", 10*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte("q")); err != nil {
				return err
			}
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			if err != nil {
				return fmt.Errorf("udp: %w", err)
			}
			udp = string(buf[:n])
			tc, err := net.DialTimeout("tcp4", clusterIP+":53", 10*time.Second)
			if err != nil {
				return err
			}
			defer tc.Close()
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			tcp, err = bufio.NewReader(tc).ReadString('\n')
			return err
		})
		if err != nil || udp != "udp" || strings.TrimSpace(tcp) != "tcp" {
			t.Errorf("kube-dns ClusterIP from the %s: udp %q, tcp %q, %v", from.name, udp, tcp, err)
		}
	}
}

// requireRoot skips the test without root or the tools it runs (fails
// it with CI=true).
func requireRoot(t *testing.T) {
	t.Helper()
	netnstest.Require(t)
	for _, b := range Binaries {
		if _, err := exec.LookPath(b); err != nil {
			if ci() {
				t.Fatalf("%s not found: apt-get install iptables conntrack (CI=true, so not skipping)", b)
			}
			t.Skipf("%s not found: apt-get install iptables conntrack", b)
		}
	}
}
