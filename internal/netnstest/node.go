package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/kubelet/network"
)

// Subnet is the network of the nodes' uplinks.
const Subnet = "192.168.234.0/24"

// gatewayIP is the nodes' default gateway on Subnet. Nothing answers on it:
// the default route exists so that node and pod traffic to the outside has
// a way out of the node (and is dropped there), as on a real machine.
const gatewayIP = "192.168.234.254"

// Uplink is the name of every node's uplink interface.
const Uplink = "eth0"

// Node is a network namespace standing in for a machine.
type Node struct {
	// Name is the namespace's name, as `ip netns list` shows it.
	Name string
	// Path is the namespace's file, /run/netns/Name.
	Path string
	// IP is the node's address on its Uplink, in Subnet.
	IP netip.Addr
}

// Require skips the test unless it runs as root with the ip command
// installed; with CI=true a missing ip fails it instead.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ip not found: apt-get install iproute2 (CI=true, so not skipping)")
		}
		t.Skip("ip not found: apt-get install iproute2")
	}
}

// deadEnd is the far end of a lone node's uplink. It stays down, so
// whatever is sent out of the uplink is dropped.
const deadEnd = "deadend0"

// NewNode creates a node: a network namespace named berth-<name>-<random>
// with lo up, an uplink Uplink with address 192.168.234.10/24, and a default
// route through it to a gateway that does not exist. The uplink is a veth
// whose other end stays down inside the node (this kernel may lack the
// dummy driver), so it leads nowhere. The namespace and all in it are
// deleted when the test ends.
func NewNode(t testing.TB, name string) *Node {
	t.Helper()
	Require(t)
	n := newNamespace(t, name)
	n.IP = netip.MustParseAddr("192.168.234.10")
	n.mustIP(t, "link", "add", Uplink, "type", "veth", "peer", "name", deadEnd)
	n.configureUplink(t)
	return n
}

// Run runs fn on a thread inside the node's network namespace; see
// [network.Do].
func (n *Node) Run(fn func() error) error {
	return network.Do(n.Path, fn)
}

// Exec runs a command inside the node's network namespace (through `ip
// netns exec`) and returns its combined output.
func (n *Node) Exec(name string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s in node %s: %w: %s", name, n.Name, err, out)
	}
	return string(out), nil
}

// newNamespace creates a network namespace with lo up, deleted when the
// test ends.
func newNamespace(t testing.TB, name string) *Node {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random namespace name: %v", err)
	}
	clean := strings.Trim(unsafeChars.ReplaceAllString(name, "-"), "-")
	if len(clean) > 16 {
		clean = clean[:16]
	}
	nsName := "berth-" + hex.EncodeToString(b[:])
	if clean != "" {
		nsName = "berth-" + clean + "-" + hex.EncodeToString(b[:])
	}
	if out, err := exec.Command("ip", "netns", "add", nsName).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", nsName, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", nsName).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", nsName, err, out)
		}
	})
	n := &Node{Name: nsName, Path: "/run/netns/" + nsName}
	n.mustIP(t, "link", "set", "lo", "up")
	return n
}

// unsafeChars are what a namespace name does not take from a test's name.
var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// configureUplink gives the node's Uplink its address and default route.
func (n *Node) configureUplink(t testing.TB) {
	t.Helper()
	n.mustIP(t, "addr", "add", n.IP.String()+"/24", "dev", Uplink)
	n.mustIP(t, "link", "set", Uplink, "up")
	n.mustIP(t, "route", "add", "default", "via", gatewayIP, "dev", Uplink)
}

// mustIP runs `ip -n NAME args...`: always inside the namespace, never in
// the machine's own.
func (n *Node) mustIP(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-n", n.Name}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
}
