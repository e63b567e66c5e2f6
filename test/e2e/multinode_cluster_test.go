package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/internal/mounts"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testcontainerd"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/scheduler"
)

// Node-health periods of the multi-node cluster. The agent renews its
// Lease every 10 s (the kubelet's default, not a flag of `berth agent`), so
// the grace period must outlast two renewals or a busy machine makes a
// healthy node flap; eviction then follows quickly.
const (
	multiNodeGrace    = 25 * time.Second
	multiNodeEviction = 3 * time.Second
)

// multiNode is a cluster of real nodes: an in-process control plane (API
// server, scheduler, controllers) and, per node, a network namespace on a
// shared bridge, a private containerd and a `berth agent` process.
type multiNode struct {
	ts    *testserver.Server
	admin kubernetes.Interface
	bin   string // the berth binary
	nodes []*realNode
}

// realNode is one node of a multiNode.
type realNode struct {
	name    string
	net     *netnstest.Node
	ctd     *testcontainerd.Daemon
	rt      *runtime.Containerd // a client of the node's containerd, for exec
	dataDir string
	logPath string
	agent   *agentProcess
	args    []string // the agent's command line after the binary
}

// agentProcess is a running `berth agent`.
type agentProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// startMultiNode starts a cluster of n nodes named node-0, node-1, ... and
// waits until they are all Ready with pod CIDRs; the test's cleanup tears
// it all down. It skips (or fails, CI=true) as requireTools does.
func startMultiNode(t *testing.T, n int) *multiNode {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: containerd, namespaces, CNI")
	}
	requireTools(t)
	nets := netnstest.NewBridgedNodes(t, n)
	ts := testserver.Start(t, apiserver.Options{})
	m := &multiNode{ts: ts, admin: ts.Client}
	m.startControlPlane(t)

	work := t.TempDir()
	m.bin = filepath.Join(work, "berth")
	build := exec.Command("go", "build", "-o", m.bin, "./cmd/berth")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/berth: %v\n%s", err, out)
	}
	images := filepath.Join(work, "images")
	buildImages(t, images)

	for i, nn := range nets {
		node := &realNode{name: fmt.Sprintf("node-%d", i), net: nn, ctd: testcontainerd.Start(t), dataDir: t.TempDir()}
		node.logPath = filepath.Join(work, node.name+".log")
		// Cleanups run last first: the agent stops, then pinned namespaces
		// and mounts go, then containerd (registered above) kills what is left.
		t.Cleanup(func() {
			removePinned(t, filepath.Join(node.dataDir, "netns"))
			if err := mounts.UnmountUnder(node.dataDir); err != nil {
				t.Errorf("unmount under %s: %v", node.dataDir, err)
			}
		})
		if err := copyDir(images, filepath.Join(node.dataDir, "images")); err != nil {
			t.Fatal(err)
		}
		rt, err := runtime.New(runtime.Options{Address: node.ctd.Address})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close() })
		node.rt = rt
		node.args = []string{"agent", "--kubeconfig", ts.KubeconfigPath(auth.RoleNode), "--node-name", node.name,
			"--data-dir", node.dataDir, "--containerd-address", node.ctd.Address, "--node-netns", nn.Path,
			"--kubelet-addr", "127.0.0.1:0"}
		m.nodes = append(m.nodes, node)
		node.start(t, m.bin)
		t.Cleanup(func() {
			node.stop()
			if t.Failed() {
				node.logTail(t)
			}
		})
	}
	for _, node := range m.nodes {
		m.waitNodeReady(t, node.name)
	}
	return m
}

// startControlPlane runs the scheduler and the controllers in-process, with
// short node-health periods, until the test ends.
func (m *multiNode) startControlPlane(t *testing.T) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	mgr, err := controllers.New(controllers.Options{
		Config: m.ts.Config, Logger: logger, NodeMonitorPeriod: 500 * time.Millisecond,
		NodeMonitorGracePeriod: multiNodeGrace, PodEvictionTimeout: multiNodeEviction,
	})
	if err != nil {
		t.Fatalf("controllers: %v", err)
	}
	sched, err := scheduler.New(scheduler.Options{Config: m.ts.Config, Logger: logger})
	if err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	t.Cleanup(func() {
		cancel()
		for range 2 {
			<-done
		}
	})
	for what, run := range map[string]func(context.Context) error{"controllers": mgr.Run, "scheduler": sched.Run} {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s stopped: %v", what, err)
			}
		}()
	}
}

// waitNodeReady waits until the node is Ready with a pod CIDR.
func (m *multiNode) waitNodeReady(t *testing.T, name string) *corev1.Node {
	t.Helper()
	return waitFor(t, "node "+name+" Ready with a pod CIDR", func() (*corev1.Node, bool) {
		n, err := m.admin.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		c := nodeReady(m.admin, name)
		return n, c.Status == corev1.ConditionTrue && n.Spec.PodCIDR != ""
	})
}

// start starts the node's agent, its output appended to the node's log.
func (n *realNode) start(t *testing.T, bin string) {
	t.Helper()
	out, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own descriptor
	a := &agentProcess{cmd: exec.Command(bin, n.args...), done: make(chan struct{})}
	a.cmd.Stdout, a.cmd.Stderr = out, out
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start berth agent for %s: %v", n.name, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	n.agent = a
}

// kill kills the node's agent with SIGKILL, as a machine that dies: its
// containers keep running under their shims.
func (n *realNode) kill() {
	_ = n.agent.cmd.Process.Kill()
	<-n.agent.done
}

// stop stops the node's agent (SIGTERM, then SIGKILL after 30 s); it is
// safe to call when the agent has exited.
func (n *realNode) stop() {
	if n.agent == nil {
		return
	}
	select {
	case <-n.agent.done:
		return
	default:
	}
	_ = n.agent.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.agent.done:
	case <-time.After(30 * time.Second):
		n.kill()
	}
}

// logTail writes the end of the agent's log to the test log.
func (n *realNode) logTail(t *testing.T) {
	f, err := os.Open(n.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	t.Logf("end of %s's agent log:\n%s", n.name, strings.Join(lines, "\n"))
}

// copyDir copies the regular files of src into dst.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fmt.Errorf("copy %s: %w", e.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return fmt.Errorf("copy %s: %w", e.Name(), err)
		}
	}
	return nil
}
