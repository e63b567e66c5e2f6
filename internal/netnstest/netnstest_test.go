package netnstest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/netnstest"
)

// dialTimeout guards against a hang when a packet is dropped; it is no
// timing assertion.
const dialTimeout = 10 * time.Second

func TestNewNode(t *testing.T) {
	netnstest.Require(t)
	rootLinks := links(t)
	var path string
	t.Run("node", func(t *testing.T) {
		node := netnstest.NewNode(t, "Test/New Node")
		path = node.Path
		if !strings.HasPrefix(node.Name, "berth-Test-New-Node-") || node.Path != "/run/netns/"+node.Name {
			t.Errorf("node name %q, path %q", node.Name, node.Path)
		}
		out, err := node.Exec("ip", "-4", "-o", "addr", "show", netnstest.Uplink)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, " 192.168.234.10/24 ") {
			t.Errorf("uplink address: %s", out)
		}
		out, err = node.Exec("ip", "route", "show", "default")
		if err != nil || !strings.Contains(out, "via 192.168.234.254 dev eth0") {
			t.Errorf("default route: %q, %v", out, err)
		}
		// The node reaches its own address, through its own lo.
		ln := listen(t, node, "192.168.234.10:7000")
		go answer(ln, "hello")
		if got, err := dialFrom(node, "192.168.234.10:7000"); err != nil || got != "hello" {
			t.Errorf("dial own address: %q, %v", got, err)
		}
		if diff := links(t); diff != rootLinks {
			t.Errorf("the machine's own links changed:\nbefore:\n%s\nafter:\n%s", rootLinks, diff)
		}
	})
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("node namespace %s after the test: %v", path, err)
	}
}

func TestNewBridgedNodes(t *testing.T) {
	netnstest.Require(t)
	rootLinks := links(t)
	nodes := netnstest.NewBridgedNodes(t, 3)
	for i, node := range nodes {
		if want := fmt.Sprintf("192.168.234.%d", 10+i); node.IP.String() != want {
			t.Errorf("node %d has IP %s, want %s", i, node.IP, want)
		}
		ln := listen(t, node, node.IP.String()+":7000")
		go answer(ln, node.Name)
	}
	for _, from := range nodes {
		for _, to := range nodes {
			got, err := dialFrom(from, to.IP.String()+":7000")
			if err != nil || got != to.Name {
				t.Errorf("%s dials %s: %q, %v", from.Name, to.Name, got, err)
			}
		}
	}
	if diff := links(t); diff != rootLinks {
		t.Errorf("the machine's own links changed:\nbefore:\n%s\nafter:\n%s", rootLinks, diff)
	}
}

// links lists the links of the machine's own network namespace.
func links(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	return strings.Join(names, "\n")
}

// listen opens a TCP listener inside node, closed when the test ends.
func listen(t *testing.T, node *netnstest.Node, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := node.Run(func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
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
	var line string
	err := node.Run(func() error {
		conn, err := net.DialTimeout("tcp4", addr, dialTimeout)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
			return err
		}
		line, err = bufio.NewReader(conn).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}
