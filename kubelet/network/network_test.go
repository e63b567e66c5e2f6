package network_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/google/go-cmp/cmp"
)

const podCIDR = "10.244.7.0/24"

// testNetwork is a node with a CNI network in it.
type testNetwork struct {
	node  *netnstest.Node
	opts  network.Options
	net   *network.Network
	nsDir string
}

// newTestNetwork creates a node and a Network whose plugins run in it, with
// state in a temporary directory.
func newTestNetwork(t *testing.T) *testNetwork {
	t.Helper()
	requireCNI(t)
	node := netnstest.NewNode(t, t.Name())
	dir := t.TempDir()
	opts := network.Options{
		ConfDir:   filepath.Join(dir, "conf"),
		DataDir:   filepath.Join(dir, "data"),
		PodCIDR:   podCIDR,
		HostNetNS: node.Path,
	}
	n, err := network.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testNetwork{node: node, opts: opts, net: n, nsDir: filepath.Join(dir, "netns")}
}

// setupPod pins namespaces for a pod and sets up its network; both are
// undone when the test ends, network first.
func (tn *testNetwork) setupPod(t *testing.T, uid, name string, ports ...network.PortMapping) (network.Pod, network.Namespaces, network.Result) {
	t.Helper()
	ns := pinPod(t, tn.nsDir, uid, name)
	pod := network.Pod{UID: uid, Namespace: "default", Name: name, NetNSPath: ns.Net, PortMappings: ports}
	res, err := tn.net.Setup(context.Background(), pod)
	if err != nil {
		t.Fatalf("Setup(%s): %v", name, err)
	}
	t.Cleanup(func() {
		if err := tn.net.Teardown(context.Background(), pod); err != nil {
			t.Errorf("Teardown(%s): %v", name, err)
		}
	})
	return pod, ns, res
}

// allocated returns the Network's allocated addresses as strings.
func allocated(t *testing.T, n *network.Network) []string {
	t.Helper()
	ips, err := n.AllocatedIPs()
	if err != nil {
		t.Fatalf("AllocatedIPs: %v", err)
	}
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return s
}

func TestPodNetwork(t *testing.T) {
	tn := newTestNetwork(t)
	rootRules := rootIptables(t)
	ctx := context.Background()

	podA, nsA, resA := tn.setupPod(t, "0b6ad3de-aaaa-4c0e-9d55-000000000001", "pod-a")
	podB, nsB, resB := tn.setupPod(t, "0b6ad3de-bbbb-4c0e-9d55-000000000002", "pod-b",
		network.PortMapping{HostPort: 18080, ContainerPort: 8080, Protocol: "TCP"})

	cidr := netip.MustParsePrefix(podCIDR)
	for _, res := range []network.Result{resA, resB} {
		if !cidr.Contains(res.IP) || res.Gateway != netip.MustParseAddr("10.244.7.1") {
			t.Errorf("Setup result %+v, want an IP in %s and gateway 10.244.7.1", res, podCIDR)
		}
	}
	if resA.IP == resB.IP {
		t.Fatalf("both pods got %s", resA.IP)
	}
	if diff := cmp.Diff([]string{resA.IP.String(), resB.IP.String()}, allocated(t, tn.net),
		cmp.Transformer("sort", func(s []string) []string { return slices.Sorted(slices.Values(s)) })); diff != "" {
		t.Errorf("AllocatedIPs (-want +got):\n%s", diff)
	}
	for _, pod := range []network.Pod{podA, podB} {
		if err := tn.net.Check(ctx, pod); err != nil {
			t.Errorf("Check(%s): %v", pod.Name, err)
		}
	}
	if _, err := tn.net.Setup(ctx, podA); !errors.Is(err, network.ErrAlreadySetUp) {
		t.Errorf("second Setup(pod-a) = %v, want ErrAlreadySetUp", err)
	}
	if err := tn.net.Check(ctx, podA); err != nil {
		t.Errorf("Check(pod-a) after a second Setup: %v", err)
	}

	t.Run("bridge only in the node", func(t *testing.T) {
		if out, err := tn.node.Exec("ip", "link", "show", "berth0"); err != nil {
			t.Errorf("no bridge berth0 in the node: %v", err)
		} else if !strings.Contains(out, "berth0") {
			t.Errorf("ip link show berth0 in the node: %s", out)
		}
		if out, err := exec.Command("ip", "link", "show", "berth0").CombinedOutput(); err == nil {
			t.Errorf("the machine's own namespace has a berth0 link: %s", out)
		}
	})

	serve(t, nsB.Net, 8080, "pod-b")
	t.Run("pod to pod", func(t *testing.T) {
		line, err := dial(nsA.Net, resB.IP.String()+":8080")
		if err != nil {
			t.Fatalf("pod A dials pod B: %v", err)
		}
		// The bridge does not masquerade inside the pod CIDR.
		if want := "pod-b from " + resA.IP.String() + ":"; !strings.HasPrefix(line, want) {
			t.Errorf("pod B answered %q, want %q...", line, want)
		}
	})
	t.Run("masquerade chain only in the node", func(t *testing.T) {
		out, err := tn.node.Exec("iptables", "-t", "nat", "-S")
		if err != nil {
			t.Fatalf("iptables -S in the node: %v: %s", err, out)
		}
		for _, want := range []string{
			`-A POSTROUTING -s ` + cidr.String() + ` -m comment --comment "berth: masquerade pods" -j BERTH-POD-MASQ`,
			`-A BERTH-POD-MASQ -m comment --comment "berth: pod traffic leaving the pod network" -j MASQUERADE`,
		} {
			if strings.Count(out, want+"\n") != 1 {
				t.Errorf("the node's nat table has %q %d times, want once:\n%s", want, strings.Count(out, want+"\n"), out)
			}
		}
		if strings.Contains(out, "CNI-") && !strings.Contains(out, "CNI-HOSTPORT") {
			t.Errorf("the bridge plugin made per-pod masquerade chains:\n%s", out)
		}
		if out, err := exec.Command("iptables", "-t", "nat", "-S", "BERTH-POD-MASQ").CombinedOutput(); err == nil {
			t.Errorf("the machine's own namespace has BERTH-POD-MASQ: %s", out)
		}
	})
	t.Run("node to pod", func(t *testing.T) {
		if _, err := dial(tn.node.Path, resB.IP.String()+":8080"); err != nil {
			t.Errorf("node dials pod B: %v", err)
		}
	})
	t.Run("hostPort", func(t *testing.T) {
		addr := tn.node.IP.String() + ":18080"
		if line, err := dial(tn.node.Path, addr); err != nil || !strings.HasPrefix(line, "pod-b from") {
			t.Errorf("node dials %s: %q, %v", addr, line, err)
		}
		if line, err := dial(nsA.Net, addr); err != nil || !strings.HasPrefix(line, "pod-b from") {
			t.Errorf("pod A dials %s: %q, %v", addr, line, err)
		}
	})
	t.Run("hostname", func(t *testing.T) {
		for _, tc := range []struct{ ns, want string }{{nsA.UTS, "pod-a"}, {nsB.UTS, "pod-b"}} {
			if got, err := hostname(tc.ns); err != nil || got != tc.want {
				t.Errorf("hostname in %s = %q, %v; want %q", tc.ns, got, err, tc.want)
			}
		}
		self, _ := os.Hostname()
		if self == "pod-a" || self == "pod-b" {
			t.Errorf("the test process's hostname changed to %q", self)
		}
	})

	t.Run("restart", func(t *testing.T) {
		// A new agent: a new Network on the same directories.
		again, err := network.New(tn.opts)
		if err != nil {
			t.Fatalf("New after restart: %v", err)
		}
		restarted := &testNetwork{node: tn.node, opts: tn.opts, net: again, nsDir: tn.nsDir}
		_, _, resC := restarted.setupPod(t, "0b6ad3de-cccc-4c0e-9d55-000000000003", "pod-c")
		if resC.IP == resA.IP || resC.IP == resB.IP || !cidr.Contains(resC.IP) {
			t.Errorf("pod C got %s beside %s and %s", resC.IP, resA.IP, resB.IP)
		}
		if err := again.Teardown(ctx, podA); err != nil {
			t.Fatalf("Teardown of pod A by the new agent: %v", err)
		}
		got := allocated(t, again)
		if slices.Contains(got, resA.IP.String()) || len(got) != 2 {
			t.Errorf("after Teardown of pod A: allocated %v, want B's %s and C's %s", got, resB.IP, resC.IP)
		}
	})

	for _, pod := range []network.Pod{podA, podB} {
		for range 2 {
			if err := tn.net.Teardown(ctx, pod); err != nil {
				t.Errorf("Teardown(%s): %v", pod.Name, err)
			}
		}
	}
	if got := allocated(t, tn.net); len(got) != 0 {
		t.Errorf("after Teardown: allocated %v, want none", got)
	}
	if left := podChains(t, tn.node); len(left) != 0 {
		t.Errorf("iptables chains of pods left in the node after Teardown: %v", left)
	}
	for _, ns := range []network.Namespaces{nsA, nsB} {
		for range 2 {
			if err := ns.Remove(); err != nil {
				t.Errorf("Remove: %v", err)
			}
		}
		if _, err := os.Stat(filepath.Dir(ns.Net)); !os.IsNotExist(err) {
			t.Errorf("pod namespace directory %s after Remove: %v", filepath.Dir(ns.Net), err)
		}
	}
	if m := mountsUnder(t, tn.nsDir); len(m) != 0 {
		t.Errorf("mounts left after Remove: %v", m)
	}
	if got := rootIptables(t); got != rootRules {
		t.Errorf("the machine's own iptables rules changed during the test:\nbefore:\n%s\nafter:\n%s", rootRules, got)
	}
}

// podChains returns the iptables chains in node that belong to one pod:
// all but the built-in ones and portmap's shared CNI-HOSTPORT-*.
func podChains(t *testing.T, node *netnstest.Node) []string {
	t.Helper()
	rules, err := node.Exec("iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	var chains []string
	for _, line := range strings.Split(rules, "\n") {
		name, _, _ := strings.Cut(strings.TrimPrefix(line, ":"), " ")
		if strings.HasPrefix(line, ":") && strings.HasPrefix(name, "CNI-") && !strings.HasPrefix(name, "CNI-HOSTPORT-") {
			chains = append(chains, name)
		}
	}
	return chains
}

func TestTeardownAfterNamespaceRemoved(t *testing.T) {
	tn := newTestNetwork(t)
	ctx := context.Background()
	ns, err := network.PinNamespaces(tn.nsDir, "0b6ad3de-dddd-4c0e-9d55-000000000004", "pod-d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Remove() })
	pod := network.Pod{UID: "0b6ad3de-dddd-4c0e-9d55-000000000004", Namespace: "default", Name: "pod-d", NetNSPath: ns.Net,
		PortMappings: []network.PortMapping{{HostPort: 18081, ContainerPort: 80}}}
	if _, err := tn.net.Setup(ctx, pod); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	// The agent died and the pod's namespaces went before its network.
	if err := ns.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for range 2 {
		if err := tn.net.Teardown(ctx, pod); err != nil {
			t.Fatalf("Teardown without a namespace: %v", err)
		}
	}
	if got := allocated(t, tn.net); len(got) != 0 {
		t.Errorf("after Teardown: allocated %v, want none", got)
	}
	if left := podChains(t, tn.node); len(left) != 0 {
		t.Errorf("iptables chains of the pod left in the node after Teardown: %v", left)
	}
}

func TestConcurrentPods(t *testing.T) {
	tn := newTestNetwork(t)
	ctx := context.Background()
	const n = 8
	pods := make([]network.Pod, n)
	results := make([]network.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range pods {
		uid := fmt.Sprintf("7e3d2c1b-0000-4a5b-8c9d-%012d", i)
		ns := pinPod(t, tn.nsDir, uid, fmt.Sprintf("pod-%d", i))
		pods[i] = network.Pod{UID: uid, Namespace: "default", Name: fmt.Sprintf("pod-%d", i), NetNSPath: ns.Net,
			PortMappings: []network.PortMapping{{HostPort: int32(20000 + i), ContainerPort: 80}}}
		wg.Go(func() { results[i], errs[i] = tn.net.Setup(ctx, pods[i]) })
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Setup(%s): %v", pods[i].Name, err)
		}
		if seen[results[i].IP] {
			t.Errorf("%s got %s twice", pods[i].Name, results[i].IP)
		}
		seen[results[i].IP] = true
		serve(t, pods[i].NetNSPath, 80, pods[i].Name)
	}
	for i := range pods {
		want := pods[i].Name + " from"
		if line, err := dial(tn.node.Path, fmt.Sprintf("%s:%d", tn.node.IP, 20000+i)); err != nil || !strings.HasPrefix(line, want) {
			t.Errorf("hostPort %d: %q, %v; want %q...", 20000+i, line, err, want)
		}
	}

	for i := range pods {
		wg.Go(func() { errs[i] = tn.net.Teardown(ctx, pods[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Teardown(%s): %v", pods[i].Name, err)
		}
	}
	if got := allocated(t, tn.net); len(got) != 0 {
		t.Errorf("after Teardown: allocated %v, want none", got)
	}
	if left := podChains(t, tn.node); len(left) != 0 {
		t.Errorf("iptables chains of pods left in the node after Teardown: %v", left)
	}
	checkThreadsHome(t)
}
