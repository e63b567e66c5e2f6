package e2e

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/snapshots"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/kubelet"
	"github.com/berth-dev/berth/kubelet/network"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 2 * time.Minute

// requireTools skips the test (fails it with CI=true) without the CNI
// plugins or a static busybox for the test image.
func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		found := false
		for _, dir := range network.DefaultPluginDirs {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				found = true
			}
		}
		if !found {
			missing = append(missing, "CNI plugin "+p+" (apt-get install containernetworking-plugins)")
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing = append(missing, "/bin/busybox (apt-get install busybox-static)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		missing = append(missing, "iptables")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing %v (CI=true, so not skipping)", missing)
	}
	t.Skipf("missing %v", missing)
}

// buildImages builds the hello and testbox image tarballs into dir.
func buildImages(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("go", "run", "./images", "-out", dir)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./images: %v\n%s", err, out)
	}
}

// agent is a kubelet running in-process.
type agent struct {
	cancel context.CancelFunc
	done   chan error
}

// startKubelet runs a kubelet until stop (or the test's end).
func startKubelet(t *testing.T, opts kubelet.Options) *agent {
	t.Helper()
	k, err := kubelet.New(opts)
	if err != nil {
		t.Fatalf("kubelet.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &agent{cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- k.Run(ctx) }()
	t.Cleanup(a.stop)
	return a
}

// stop stops the kubelet and waits for it; it is safe to call twice.
func (a *agent) stop() {
	a.cancel()
	if err, ok := <-a.done; ok {
		if err != nil {
			slog.Warn("kubelet exited", "err", err)
		}
		close(a.done)
	}
}

func TestKubeletRunsPods(t *testing.T) {
	c := startCluster(t)
	node, ctd, dataDir, rt, admin, opts, n := c.node, c.ctd, c.dataDir, c.rt, c.admin, c.opts, c.n
	first := c.agent
	ctx := context.Background()

	if got := nodeInternalIP(n); got != node.IP.String() {
		t.Errorf("node InternalIP = %q, want the node namespace's uplink %s", got, node.IP)
	}
	if _, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "node-1", metav1.GetOptions{}); err != nil {
		t.Errorf("node lease: %v", err)
	}

	if _, err := admin.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"},
		Data:       map[string]string{"greeting": "hi from a configmap"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grace := int64(2)
	box := createPod(t, admin, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "box", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      "node-1",
			TerminationGracePeriodSeconds: &grace,
			InitContainers: []corev1.Container{{
				Name: "init", Image: "berth.dev/testbox:latest", ImagePullPolicy: corev1.PullIfNotPresent,
				Command:      []string{"sh", "-c", "echo from init > /work/x"},
				VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}},
			}},
			Containers: []corev1.Container{{
				Name: "box", Image: "berth.dev/testbox:latest", ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", "echo hello; sleep 3600"},
				Env: []corev1.EnvVar{{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{
					ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"},
				}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}, {Name: "work", MountPath: "/work"}},
			}},
			Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}},
			}}, {Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	})
	hello := createPod(t, admin, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				Name: "hello", Image: "berth.dev/hello:latest", ImagePullPolicy: corev1.PullIfNotPresent,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
					PeriodSeconds: 1,
				},
			}},
		},
	})
	missing := createPod(t, admin, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				// A registry on the machine that refuses: the pull fails at once
				// without leaving the machine.
				Name: "app", Image: "localhost:1/nope:v1", ImagePullPolicy: corev1.PullIfNotPresent,
			}},
		},
	})

	boxPod := waitReady(t, admin, box)
	helloPod := waitReady(t, admin, hello)
	for _, p := range []*corev1.Pod{boxPod, helloPod} {
		if p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning || p.Status.HostIP != node.IP.String() {
			t.Errorf("pod %s: phase %s, podIP %q, hostIP %q", p.Name, p.Status.Phase, p.Status.PodIP, p.Status.HostIP)
		}
	}
	waitFor(t, "a Started event for the box", func() (int, bool) {
		evs, err := admin.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, false
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "box" && e.Reason == "Started" && e.Source.Component == "kubelet" {
				return len(evs.Items), true
			}
		}
		return len(evs.Items), false
	})
	logs, err := admin.CoreV1().Pods("default").GetLogs("box", &corev1.PodLogOptions{Container: "box"}).DoRaw(ctx)
	if err != nil || string(logs) != "hello\n" {
		t.Errorf("logs of the box through the API server: %q, %v; want \"hello\\n\"", logs, err)
	}
	boxID := strings.TrimPrefix(boxPod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	code, out, err := rt.Exec(ctx, boxID, []string{"sh", "-c", `echo "$GREETING"; cat /etc/cfg/greeting; echo; hostname; cat /work/x`}, 10*time.Second)
	if want := "hi from a configmap\nhi from a configmap\nbox\nfrom init\n"; err != nil || code != 0 || string(out) != want {
		t.Errorf("env, configMap volume, hostname and the init container's file in the box: exit %d, %v, output %q; want %q", code, err, out, want)
	}
	body := httpGetIn(t, node.Path, net.JoinHostPort(helloPod.Status.PodIP, "8080"), "/")
	t.Logf("hello answered from the node namespace: %q", body)

	waitFor(t, "ImagePullBackOff for a missing image", func() (struct{}, bool) {
		p, err := admin.CoreV1().Pods("default").Get(ctx, missing.Name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return struct{}{}, false
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return struct{}{}, w != nil && w.Reason == "ImagePullBackOff" && w.Message != ""
	})

	// A restarted kubelet adopts the running containers.
	started := boxPod.Status.ContainerStatuses[0].State.Running.StartedAt
	first.stop()
	startKubelet(t, opts)
	time.Sleep(3 * time.Second) // several sync passes of the new kubelet
	after := waitReady(t, admin, box)
	cs := after.Status.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&started) || cs.RestartCount != 0 {
		t.Errorf("after a kubelet restart, container state %+v restarts %d; want running since %v, no restart", cs.State, cs.RestartCount, started)
	}

	for _, p := range []*corev1.Pod{box, hello, missing} {
		if err := admin.CoreV1().Pods("default").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete pod %s: %v", p.Name, err)
		}
	}
	for _, p := range []*corev1.Pod{box, hello, missing} {
		waitFor(t, "pod "+p.Name+" gone", func() (struct{}, bool) {
			_, err := admin.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
			return struct{}{}, apierrors.IsNotFound(err)
		})
	}
	if infos, err := rt.ListContainers(ctx, nil); err != nil || len(infos) != 0 {
		t.Errorf("containers left after deletion: %v (err %v)", infos, err)
	}
	cctx := namespacesCtx(ctx)
	if err := ctd.Client().SnapshotService("overlayfs").Walk(cctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind != snapshots.KindCommitted {
			t.Errorf("snapshot %s (%v) left after deletion", info.Name, info.Kind)
		}
		return nil
	}); err != nil {
		t.Errorf("walk snapshots: %v", err)
	}
	cni, err := network.New(network.Options{
		ConfDir: filepath.Join(dataDir, "cni", "conf"), DataDir: filepath.Join(dataDir, "cni", "data"),
		PodCIDR: n.Spec.PodCIDR, HostNetNS: node.Path,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ips, err := cni.AllocatedIPs(); err != nil || len(ips) != 0 {
		t.Errorf("pod IPs still allocated after deletion: %v (err %v)", ips, err)
	}
	if entries, err := os.ReadDir(filepath.Join(dataDir, "netns")); err != nil || len(entries) != 0 {
		t.Errorf("pinned namespaces left after deletion: %v (err %v)", entries, err)
	}

	// containerd down: the node turns NotReady, and Ready again once it is back.
	ctd.Stop()
	waitFor(t, "node NotReady with containerd stopped", func() (corev1.NodeCondition, bool) {
		c := nodeReady(admin, "node-1")
		return c, c.Status == corev1.ConditionFalse && c.Reason == "KubeletNotReady" && strings.Contains(c.Message, "container runtime is down")
	})
	ctd.Restart()
	waitFor(t, "node Ready with containerd back", func() (corev1.NodeCondition, bool) {
		c := nodeReady(admin, "node-1")
		return c, c.Status == corev1.ConditionTrue
	})
}

// nodeReady is the node's Ready condition.
func nodeReady(c kubernetes.Interface, name string) corev1.NodeCondition {
	n, err := c.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return corev1.NodeCondition{}
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond
		}
	}
	return corev1.NodeCondition{}
}

// createPod creates pod with the admin client.
func createPod(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := c.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return created
}

// waitReady waits until the pod is Ready and returns it.
func waitReady(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	return waitFor(t, "pod "+pod.Name+" Ready", func() (*corev1.Pod, bool) {
		p, err := c.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return p, true
			}
		}
		return p, false
	})
}

// waitFor polls check until it says done, failing the test after
// waitTimeout with what it waited for.
func waitFor[T any](t *testing.T, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		v, ok := check()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last seen: %+v", what, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodeInternalIP is the node's InternalIP address.
func nodeInternalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// httpGetIn GETs path from addr over a connection made inside netns and
// returns the body.
func httpGetIn(t *testing.T, netns, addr, path string) string {
	t.Helper()
	var conn net.Conn
	if err := network.Do(netns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
		return err
	}); err != nil {
		t.Fatalf("dial %s in the node namespace: %v", addr, err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Close = true
	if err := req.Write(conn); err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", addr, resp.StatusCode, b)
	}
	return string(b)
}

// removePinned unmounts pod namespaces a failed test left pinned.
func removePinned(t *testing.T, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if err := network.NamespacePaths(dir, e.Name()).Remove(); err != nil {
			t.Errorf("remove pinned namespaces: %v", err)
		}
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
