package e2e

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testcontainerd"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// cluster is one node: an in-process API server, a private containerd,
// the node's network namespace, and a kubelet ("node-1") running on them
// with the test images in its DATA_DIR/images and the berth binary as
// its log driver.
type cluster struct {
	node    *netnstest.Node
	ctd     *testcontainerd.Daemon
	dataDir string
	rt      *runtime.Containerd
	ts      *testserver.Server
	admin   kubernetes.Interface
	opts    kubelet.Options
	agent   *agent
	// n is the node once Ready with a pod CIDR.
	n *corev1.Node
}

// startCluster starts a cluster and waits for its node to be Ready; the
// test's cleanup tears it all down. Each of change may adjust the
// kubelet's options first. It skips (or fails, CI=true) as requireTools
// does.
func startCluster(t *testing.T, change ...func(*kubelet.Options)) *cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: containerd, namespaces, CNI")
	}
	requireTools(t)
	c := &cluster{node: netnstest.NewNode(t, "kubelet"), ctd: testcontainerd.Start(t), dataDir: t.TempDir()}
	t.Cleanup(func() { removePinned(t, filepath.Join(c.dataDir, "netns")) })
	buildImages(t, filepath.Join(c.dataDir, "images"))
	berth := filepath.Join(t.TempDir(), "berth") // the log driver
	build := exec.Command("go", "build", "-o", berth, "./cmd/berth")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/berth: %v\n%s", err, out)
	}
	rt, err := runtime.New(runtime.Options{Address: c.ctd.Address, RuncRoot: c.ctd.RuncRoot(), LogDriver: berth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	c.rt = rt
	ts := testserver.Start(t, apiserver.Options{})
	c.ts, c.admin = ts, ts.Client

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c.opts = kubelet.Options{
		NodeName:       "node-1",
		Client:         ts.ClientFor(auth.RoleNode),
		DataDir:        c.dataDir,
		Runtime:        rt,
		HostNetNS:      c.node.Path,
		Logger:         logger,
		SyncInterval:   300 * time.Millisecond,
		ServerAddr:     "127.0.0.1:0",
		LogContainers:  true,
		StatusInterval: 2 * time.Second,
	}
	for _, f := range change {
		f(&c.opts)
	}
	c.agent = startKubelet(t, c.opts)
	c.n = waitFor(t, "node Ready with a pod CIDR", func() (*corev1.Node, bool) {
		n, err := c.admin.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && n.Spec.PodCIDR != "" {
				return n, true
			}
		}
		return nil, false
	})
	return c
}
