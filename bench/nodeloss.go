package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/internal/mounts"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/scheduler"
)

const (
	nodeLossNodes = 3                // nodes of the cluster, one replica each
	nodeLossNS    = "bench-nodeloss" // the Deployment's namespace
	nodeLossWait  = 10 * time.Minute // bound of every wait of the figure
	// k8sNodeLossBaseline is when Kubernetes, with its defaults, starts replacing
	// the pods of a node that went silent: node-monitor-grace-period 40 s, then
	// the default not-ready/unreachable toleration of 300 s (taint-based
	// eviction; older releases' pod-eviction-timeout was 5 min too).
	k8sNodeLossBaseline = 340 * time.Second
)

// nodeLoss measures how long a cluster of real nodes takes to bring a dead node's
// pods back elsewhere: three `berth agent` processes, each in a network namespace
// of its own on one bridge with its own containerd, a control plane (its own API
// server, the scheduler and the controllers) in this process, and a Deployment of
// one hello replica per node. One node dies (its agent SIGKILLed and its link cut);
// the figure is the time from then to the Deployment having all its replicas
// Running and Ready on the other nodes, split into its phases. Then the node comes
// back and the time its agent takes to remove the stale pod is shown too. The
// control plane runs with berth's default node-health periods (40 s grace, 60 s
// eviction); a quick run shortens them. It has its own API server so that the
// nodes and pods other figures leave behind do not count. It needs what podStart
// needs; without it, it logs why and adds no row.
func (b *bench) nodeLoss(ctx context.Context) error {
	if why := podStartMissing(); why != "" {
		b.logf("nodeloss: skipped: %s", why)
		return nil
	}
	grace, eviction := 40*time.Second, 60*time.Second // controllers' defaults
	if b.sz.pods < 10000 {                            // quick run
		grace, eviction = 25*time.Second, 3*time.Second
	}
	c := &lossCluster{b: b}
	defer c.cleanup()
	if err := c.start(ctx, grace, eviction); err != nil {
		return err
	}
	pods, err := c.waitReplicas(ctx, "")
	if err != nil {
		return err
	}
	victim := c.nodes[nodeLossNodes-1]
	var lost *corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName == victim.name {
			lost = p
		}
	}
	if lost == nil {
		return fmt.Errorf("no replica on %s: %v", victim.name, podPlaces(pods))
	}

	b.logf("nodeloss: killing %s (agent SIGKILL, link down)", victim.name)
	t0 := time.Now()
	_ = victim.agent.cmd.Process.Kill()
	<-victim.agent.done
	if err := victim.ip("link", "set", "eth0", "down"); err != nil {
		return err
	}
	var notReady, evicted time.Duration
	deadline := time.Now().Add(nodeLossWait)
	for notReady == 0 || evicted == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not NotReady or its pod not evicted after %s", victim.name, nodeLossWait)
		}
		if n, err := c.client.CoreV1().Nodes().Get(ctx, victim.name, metav1.GetOptions{}); err == nil && notReady == 0 && !nodeIsReady(n) {
			notReady = time.Since(t0)
		}
		if p, err := c.client.CoreV1().Pods(nodeLossNS).Get(ctx, lost.Name, metav1.GetOptions{}); evicted == 0 && (apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)) {
			evicted = time.Since(t0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.waitReplicas(ctx, victim.name); err != nil {
		return err
	}
	total := time.Since(t0)
	b.logf("nodeloss: replicas Ready elsewhere after %.1f s; bringing %s back", total.Seconds(), victim.name)

	for _, args := range [][]string{{"link", "set", "eth0", "up"}, {"route", "replace", "default", "via", "192.168.234.254"}} {
		if err := victim.ip(args...); err != nil {
			return err
		}
	}
	t1 := time.Now()
	if err := c.startAgent(victim); err != nil {
		return err
	}
	var staleGone time.Duration
	for staleGone == 0 {
		if err := victim.agent.exited(); err != nil {
			return err
		}
		_, err := c.client.CoreV1().Pods(nodeLossNS).Get(ctx, lost.Name, metav1.GetOptions{})
		infos, lerr := victim.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: string(lost.UID)})
		if apierrors.IsNotFound(err) && lerr == nil && len(infos) == 0 {
			staleGone = time.Since(t1)
		}
		if time.Since(t1) > nodeLossWait {
			return fmt.Errorf("stale pod %s still there %s after %s came back", lost.Name, nodeLossWait, victim.name)
		}
		time.Sleep(100 * time.Millisecond)
	}

	b.add(fmt.Sprintf("node loss to pods Ready elsewhere (%d nodes)", nodeLossNodes),
		fmt.Sprintf("%.1f s", total.Seconds()),
		fmt.Sprintf("≈ %.0f s", k8sNodeLossBaseline.Seconds()),
		total.Seconds()/k8sNodeLossBaseline.Seconds(),
		fmt.Sprintf("real `berth agent` processes on bridged netns nodes; node killed (agent SIGKILL, link down) to the Deployment's %d replicas Running and Ready "+
			"on the others: NotReady after %.1f s, pod evicted after %.1f s, replacement Ready %.1f s later. Control plane: node-monitor grace %s, "+
			"eviction %s after NotReady (agents renew their Lease every 10 s). Baseline not measured: Kubernetes' defaults, 40 s grace + 300 s "+
			"tolerationSeconds of the not-ready/unreachable taints (older releases: 40 s + 5 min pod-eviction-timeout). The returned node's agent removed the stale "+
			"pod (object and containers) %.1f s after it restarted",
			nodeLossNodes, notReady.Seconds(), evicted.Seconds(), (total-evicted).Seconds(), grace, eviction, staleGone.Seconds()))
	return nil
}

// lossCluster is the figure's cluster and what it must clean up.
type lossCluster struct {
	b        *bench
	dir      string
	ts       *testserver.Server
	client   kubernetes.Interface
	bin      string
	switchNS string
	nodes    []*lossNode
	cancel   context.CancelFunc // stops the control plane
	stopped  chan error         // the control plane's exits
}

// lossNode is one node of a lossCluster.
type lossNode struct {
	name, netns, dataDir string
	ctd                  *runtime.Daemon
	rt                   *runtime.Containerd
	agent                *agentProc
}

// ip runs `ip -n NETNS args...`.
func (n *lossNode) ip(args ...string) error {
	if out, err := exec.Command("ip", append([]string{"-n", n.netns}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s %s: %w: %s", n.netns, strings.Join(args, " "), err, out)
	}
	return nil
}

// start builds berth and the hello image, starts the API server, the scheduler
// and the controllers, the nodes' namespaces, containerds and agents, and the
// Deployment.
func (c *lossCluster) start(ctx context.Context, grace, eviction time.Duration) error {
	var err error
	if c.dir, err = os.MkdirTemp("", "berth-nodeloss-"); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	c.b.logf("nodeloss: building berth and the hello image")
	images := filepath.Join(c.dir, "images")
	if c.bin, err = buildBerth(ctx, c.dir, images, "hello"); err != nil {
		return err
	}
	if c.ts, err = testserver.Run(apiserver.Options{DataDir: filepath.Join(c.dir, "server")}); err != nil {
		return fmt.Errorf("start API server: %w", err)
	}
	c.client = c.ts.Client
	if err := c.startControlPlane(grace, eviction); err != nil {
		return err
	}
	if err := c.makeNetwork(); err != nil {
		return err
	}
	for _, n := range c.nodes {
		n.dataDir = filepath.Join(c.dir, n.name)
		if err := copyFiles(images, filepath.Join(n.dataDir, "images")); err != nil {
			return err
		}
		if n.ctd, err = runtime.StartDaemon(ctx, runtime.DaemonOptions{Dir: filepath.Join(c.dir, n.name+"-containerd"), Logger: quietLogger()}); err != nil {
			return err
		}
		if n.rt, err = runtime.New(runtime.Options{Address: n.ctd.Address(), Logger: quietLogger()}); err != nil {
			return err
		}
		if err := c.startAgent(n); err != nil {
			return err
		}
	}
	c.b.logf("nodeloss: %d agents started, waiting for their nodes", len(c.nodes))
	for _, n := range c.nodes {
		if err := c.waitNodeReady(ctx, n); err != nil {
			return err
		}
	}
	if err := c.createDeployment(ctx); err != nil {
		return err
	}
	return nil
}

// startControlPlane runs the scheduler and the controllers until cleanup.
func (c *lossCluster) startControlPlane(grace, eviction time.Duration) error {
	mgr, err := controllers.New(controllers.Options{
		Config: c.ts.Config, Logger: quietLogger(), NodeMonitorPeriod: 500 * time.Millisecond,
		NodeMonitorGracePeriod: grace, PodEvictionTimeout: eviction,
	})
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	sched, err := scheduler.New(scheduler.Options{Config: c.ts.Config, Logger: quietLogger()})
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.stopped = cancel, make(chan error, 2)
	go func() { c.stopped <- mgr.Run(ctx) }()
	go func() { c.stopped <- sched.Run(ctx) }()
	return nil
}

// makeNetwork creates the nodes' namespaces, joined by a bridge in a namespace of
// its own that has no other interface, as netnstest.NewBridgedNodes does: node i
// has 192.168.234.(10+i)/24 on eth0 and a default route to a gateway that does
// not exist. Nothing is done in the machine's own namespace.
func (c *lossCluster) makeNetwork() error {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("random namespace name: %w", err)
	}
	prefix := "berth-nodeloss-" + hex.EncodeToString(r[:])
	c.switchNS = prefix + "-sw"
	sw := &lossNode{netns: c.switchNS}
	if out, err := exec.Command("ip", "netns", "add", c.switchNS).CombinedOutput(); err != nil {
		c.switchNS = ""
		return fmt.Errorf("ip netns add: %w: %s", err, out)
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"link", "add", "br0", "type", "bridge"}, {"link", "set", "br0", "up"}} {
		if err := sw.ip(args...); err != nil {
			return err
		}
	}
	for i := range nodeLossNodes {
		n := &lossNode{name: fmt.Sprintf("nodeloss-%d", i), netns: fmt.Sprintf("%s-n%d", prefix, i)}
		if out, err := exec.Command("ip", "netns", "add", n.netns).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns add: %w: %s", err, out)
		}
		c.nodes = append(c.nodes, n)
		port := fmt.Sprintf("port%d", i)
		for _, step := range []struct {
			node *lossNode
			args []string
		}{
			{n, []string{"link", "set", "lo", "up"}},
			{n, []string{"link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", c.switchNS}},
			{sw, []string{"link", "set", port, "master", "br0"}},
			{sw, []string{"link", "set", port, "up"}},
			{n, []string{"addr", "add", fmt.Sprintf("192.168.234.%d/24", 10+i), "dev", "eth0"}},
			{n, []string{"link", "set", "eth0", "up"}},
			{n, []string{"route", "add", "default", "via", "192.168.234.254", "dev", "eth0"}},
		} {
			if err := step.node.ip(step.args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// startAgent starts the node's `berth agent`, its output appended to a log file.
func (c *lossCluster) startAgent(n *lossNode) error {
	a := &agentProc{log: filepath.Join(c.dir, n.name+".log"), done: make(chan struct{})}
	out, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("agent log: %w", err)
	}
	defer out.Close() // the child has its own descriptor
	a.cmd = exec.Command(c.bin, "agent", "--kubeconfig", c.ts.KubeconfigPath(auth.RoleNode), "--node-name", n.name,
		"--data-dir", n.dataDir, "--containerd-address", n.ctd.Address(), "--node-netns", "/run/netns/"+n.netns,
		"--kubelet-addr", "127.0.0.1:0")
	a.cmd.Stdout, a.cmd.Stderr = out, out
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("start berth agent: %w", err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	n.agent = a
	return nil
}

// stopAgent stops the node's agent: SIGTERM, then SIGKILL after 30 s.
func (n *lossNode) stopAgent() {
	if n.agent == nil || n.agent.exited() != nil {
		return
	}
	_ = n.agent.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.agent.done:
	case <-time.After(30 * time.Second):
		_ = n.agent.cmd.Process.Kill()
		<-n.agent.done
	}
}

// waitNodeReady waits until the node is Ready.
func (c *lossCluster) waitNodeReady(ctx context.Context, n *lossNode) error {
	deadline := time.Now().Add(nodeLossWait)
	for {
		if err := n.agent.exited(); err != nil {
			return err
		}
		if node, err := c.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{}); err == nil && nodeIsReady(node) && node.Spec.PodCIDR != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready after %s (agent log: %s)", n.name, nodeLossWait, n.agent.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createDeployment creates the hello Deployment: one replica per node (the
// scheduler spreads a ReplicaSet's pods), Ready when it serves.
func (c *lossCluster) createDeployment(ctx context.Context) error {
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nodeLossNS}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", nodeLossNS, err)
	}
	replicas, grace := int32(nodeLossNodes), int64(2)
	labels := map[string]string{"app": "hello"}
	_, err := c.client.AppsV1().Deployments(nodeLossNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: nodeLossNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "hello", Image: "berth.dev/hello:latest", ImagePullPolicy: corev1.PullIfNotPresent,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create the hello Deployment: %w", err)
	}
	return nil
}

// waitReplicas waits until the Deployment has all its replicas available as pods
// Running and Ready, not being deleted, none on the node avoid, and returns them.
func (c *lossCluster) waitReplicas(ctx context.Context, avoid string) ([]*corev1.Pod, error) {
	deadline := time.Now().Add(nodeLossWait)
	var last []string
	for time.Now().Before(deadline) {
		d, err := c.client.AppsV1().Deployments(nodeLossNS).Get(ctx, "hello", metav1.GetOptions{})
		if err == nil && d.Status.AvailableReplicas == nodeLossNodes {
			list, err := c.client.CoreV1().Pods(nodeLossNS).List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
			if err == nil {
				var ready []*corev1.Pod
				for i := range list.Items {
					p := &list.Items[i]
					if p.DeletionTimestamp == nil && podReady(p) && p.Spec.NodeName != avoid {
						ready = append(ready, p)
					}
				}
				if last = podPlaces(ready); len(ready) == nodeLossNodes {
					return ready, nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("hello replicas not all Ready (avoiding %q) after %s: %v", avoid, nodeLossWait, last)
}

// cleanup deletes the workload while the agents run, then stops the agents, the
// containerds, the control plane and the server, and removes the namespaces and
// the temp dir.
func (c *lossCluster) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c.client != nil {
		_ = c.client.AppsV1().Deployments(nodeLossNS).Delete(ctx, "hello", metav1.DeleteOptions{})
		_ = c.client.AppsV1().ReplicaSets(nodeLossNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = c.client.CoreV1().Pods(nodeLossNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		for ctx.Err() == nil {
			l, err := c.client.CoreV1().Pods(nodeLossNS).List(ctx, metav1.ListOptions{})
			if err == nil && len(l.Items) == 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, n := range c.nodes {
		n.stopAgent()
		if n.rt != nil {
			n.rt.Close()
		}
		if n.ctd != nil {
			if err := runtime.KillAllTasks(ctx, n.ctd.Address()); err != nil {
				c.b.logf("nodeloss: kill tasks of %s: %v", n.name, err)
			}
			n.ctd.Stop()
		}
		if n.dataDir != "" {
			nsDir := filepath.Join(n.dataDir, "netns")
			entries, _ := os.ReadDir(nsDir)
			for _, e := range entries {
				if err := network.NamespacePaths(nsDir, e.Name()).Remove(); err != nil {
					c.b.logf("nodeloss: remove pinned namespaces: %v", err)
				}
			}
		}
	}
	if c.cancel != nil {
		c.cancel()
		for range 2 {
			if err := <-c.stopped; err != nil && !errors.Is(err, context.Canceled) {
				c.b.logf("nodeloss: control plane: %v", err)
			}
		}
	}
	if c.ts != nil {
		_ = c.ts.Stop()
	}
	for _, n := range c.nodes {
		if out, err := exec.Command("ip", "netns", "delete", n.netns).CombinedOutput(); err != nil {
			c.b.logf("nodeloss: ip netns delete %s: %v: %s", n.netns, err, out)
		}
	}
	if c.switchNS != "" {
		if out, err := exec.Command("ip", "netns", "delete", c.switchNS).CombinedOutput(); err != nil {
			c.b.logf("nodeloss: ip netns delete %s: %v: %s", c.switchNS, err, out)
		}
	}
	if c.dir != "" {
		if err := mounts.UnmountUnder(c.dir); err != nil {
			c.b.logf("nodeloss: unmount under %s: %v", c.dir, err)
		}
		os.RemoveAll(c.dir)
	}
}

// nodeIsReady says whether the node's Ready condition is True.
func nodeIsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPlaces lists "pod@node" for the pods, sorted.
func podPlaces(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"@"+p.Spec.NodeName)
	}
	slices.Sort(out)
	return out
}

// copyFiles copies the regular files of src into dst.
func copyFiles(src, dst string) error {
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
