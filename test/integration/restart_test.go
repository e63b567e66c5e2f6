package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	berthBuild    sync.Once
	berthBinPath  string
	berthBuildErr error
)

// berthBinary builds cmd/berth once per test run. The binary goes into the shared
// server's data dir, which TestMain removes when the run ends.
func berthBinary(t *testing.T) string {
	t.Helper()
	berthBuild.Do(func() {
		berthBinPath = filepath.Join(shared.DataDir, "bin", "berth")
		cmd := exec.Command("go", "build", "-o", berthBinPath, "./cmd/berth")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			berthBuildErr = fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
		}
	})
	if berthBuildErr != nil {
		t.Fatal(berthBuildErr)
	}
	return berthBinPath
}

// freeLoopbackPort returns a loopback port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// berthNode is one data dir and listen address that `berth server` processes are
// started on, one after another; their output is appended to one log, whose tail
// is printed if the test fails.
type berthNode struct {
	t       *testing.T
	bin     string
	dataDir string
	listen  string
	flags   []string
	logPath string
	starts  int
}

func newBerthNode(t *testing.T, flags ...string) *berthNode {
	t.Helper()
	n := &berthNode{
		t: t, bin: berthBinary(t), dataDir: t.TempDir(),
		listen: net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t))),
		flags:  flags, logPath: filepath.Join(t.TempDir(), "berth.log"),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tail of %s:\n%s", n.logPath, berthLogTail(n.logPath, 60))
		}
	})
	return n
}

// berthLogTail returns the last n lines of a file.
func berthLogTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// berthProcess is a running `berth server`.
type berthProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited and waitErr is set
	// waitErr is the exit status (nil for exit code 0).
	waitErr error
}

// start starts `berth server` and waits until it answers /readyz. The process is
// killed when the test ends if it is still running.
func (n *berthNode) start() *berthProcess {
	t := n.t
	t.Helper()
	n.starts++
	log, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child has its own copy
	args := append([]string{"server", "--data-dir", n.dataDir, "--listen", n.listen}, n.flags...)
	fmt.Fprintf(log, "=== start %d: berth %s\n", n.starts, strings.Join(args, " "))
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start berth server: %v", err)
	}
	p := &berthProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { _ = p.stop(syscall.SIGKILL) })

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("berth server exited before it was ready: %v", p.waitErr)
		default:
		}
		if err := n.ready(); err == nil {
			return p
		} else if time.Now().After(deadline) {
			t.Fatalf("berth server not ready in 90s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready asks /readyz with the admin kubeconfig the server writes.
func (n *berthNode) ready() error {
	c, err := n.clientErr()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	body, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(string(body)); s != "ok" {
		return fmt.Errorf("/readyz: %q", s)
	}
	return nil
}

func (n *berthNode) clientErr() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(n.dataDir, "admin.kubeconfig"))
	if err != nil {
		return nil, err
	}
	cfg.QPS = -1
	return kubernetes.NewForConfig(cfg)
}

// client returns an admin clientset for the server.
func (n *berthNode) client() kubernetes.Interface {
	n.t.Helper()
	c, err := n.clientErr()
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// stop sends sig and waits for the process to exit, returning its exit status.
func (p *berthProcess) stop(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("no exit within 30s of %v", sig)
	}
}

// Tight ranges: were allocations forgotten across a restart, the Services created
// afterwards would almost surely be handed a ClusterIP or NodePort already in use.
var tightRanges = []string{"--service-cidr", "10.96.0.0/27", "--service-node-port-range", "30000-30021"}

// TestKillNineLosesNothing proves that every write the API server acknowledged
// survives `kill -9` of the berth process: after a restart on the same data dir all
// objects are there with their uids, the Service keeps its ClusterIP and NodePort,
// and ClusterIPs and NodePorts are not handed out again to new Services.
func TestKillNineLosesNothing(t *testing.T) {
	node := newBerthNode(t, tightRanges...)
	p := node.start()
	c := node.client()
	ns := "kill9"
	if _, err := c.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	uids := map[string]types.UID{} // ConfigMap name -> uid
	for i := range 50 {
		cm, err := c.CoreV1().ConfigMaps(ns).Create(ctx(t), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i)},
			Data:       map[string]string{"i": strconv.Itoa(i)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create ConfigMap %d: %v", i, err)
		}
		uids[cm.Name] = cm.UID
	}
	svc, err := c.CoreV1().Services(ns).Create(ctx(t), restartNodePortService("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := c.AppsV1().Deployments(ns).Create(ctx(t), restartDeployment("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if err := p.stop(syscall.SIGKILL); err == nil {
		t.Fatal("berth server exited 0 on SIGKILL")
	}
	node.start()
	c = node.client()

	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]corev1.ConfigMap{}
	for _, cm := range cms.Items {
		found[cm.Name] = cm
	}
	for name, uid := range uids {
		cm, ok := found[name]
		switch {
		case !ok:
			t.Errorf("ConfigMap %s acknowledged before kill -9 is gone", name)
		case cm.UID != uid:
			t.Errorf("ConfigMap %s: uid %s after restart, %s before", name, cm.UID, uid)
		}
	}
	gotSvc, err := c.CoreV1().Services(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Service after kill -9: %v", err)
	}
	if gotSvc.UID != svc.UID || gotSvc.Spec.ClusterIP != svc.Spec.ClusterIP || gotSvc.Spec.Ports[0].NodePort != svc.Spec.Ports[0].NodePort {
		t.Errorf("Service after kill -9: uid %s clusterIP %s nodePort %d, before: %s %s %d", gotSvc.UID, gotSvc.Spec.ClusterIP,
			gotSvc.Spec.Ports[0].NodePort, svc.UID, svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}
	gotDeploy, err := c.AppsV1().Deployments(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Deployment after kill -9: %v", err)
	}
	if gotDeploy.UID != deploy.UID || *gotDeploy.Spec.Replicas != 2 {
		t.Errorf("Deployment after kill -9: uid %s replicas %d, before: %s 2", gotDeploy.UID, *gotDeploy.Spec.Replicas, deploy.UID)
	}

	for i := range 20 {
		if _, err := c.CoreV1().Services(ns).Create(ctx(t), restartNodePortService(fmt.Sprintf("after-%02d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Service %d after restart: %v", i, err)
		}
	}
	all, err := c.CoreV1().Services("").List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips, ports := map[string]string{}, map[int32]string{}
	for _, s := range all.Items {
		name := s.Namespace + "/" + s.Name
		if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			if other, dup := ips[ip]; dup {
				t.Errorf("ClusterIP %s handed to both %s and %s", ip, other, name)
			}
			ips[ip] = name
		}
		for _, port := range s.Spec.Ports {
			if np := port.NodePort; np != 0 {
				if other, dup := ports[np]; dup {
					t.Errorf("NodePort %d handed to both %s and %s", np, other, name)
				}
				ports[np] = name
			}
		}
	}
	if len(ports) != 21 {
		t.Errorf("%d NodePorts in use, want 21 (one per NodePort Service)", len(ports))
	}
}

// TestGracefulRestart proves objects survive SIGTERM and a restart, and that a
// watch resumed after the restart from a resourceVersion taken before it never
// silently misses an event: it delivers every later change, or fails with 410 Gone
// so that the client knows to list again.
func TestGracefulRestart(t *testing.T) {
	node := newBerthNode(t)
	p := node.start()
	c := node.client()
	ns := "graceful"
	if _, err := c.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := c.CoreV1().ConfigMaps(ns)
	uids := map[string]types.UID{}
	create := func(c kubernetes.Interface, name string) {
		t.Helper()
		cm, err := c.CoreV1().ConfigMaps(ns).Create(ctx(t), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create ConfigMap %s: %v", name, err)
		}
		uids[name] = cm.UID
	}
	for i := range 3 {
		create(c, fmt.Sprintf("listed-%d", i))
	}
	list, err := cms.List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listRV := list.ResourceVersion
	create(c, "after-list") // an event after listRV, before the restart

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("berth server did not exit cleanly on SIGTERM: %v", err)
	}
	node.start()
	c = node.client()
	cms = c.CoreV1().ConfigMaps(ns)

	for name, uid := range uids {
		cm, err := cms.Get(ctx(t), name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("ConfigMap %s after restart: %v", name, err)
		} else if cm.UID != uid {
			t.Errorf("ConfigMap %s: uid %s after restart, %s before", name, cm.UID, uid)
		}
	}

	// Resume the watch from listRV as a reflector would: on a clean close, watch
	// again from the last resourceVersion seen.
	wctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	rv, createdAfter := listRV, false
	seen := map[string]bool{}
	for !seen["after-list"] || !seen["after-restart"] {
		w, err := cms.Watch(wctx, metav1.ListOptions{ResourceVersion: rv})
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			t.Logf("watch from %s after restart: 410 (%v): the client relists", rv, err)
			return
		}
		if err != nil {
			t.Fatalf("watch from resourceVersion %s after restart: %v", rv, err)
		}
		if !createdAfter {
			create(c, "after-restart")
			createdAfter = true
		}
		expired, err := drainRestartWatch(wctx, w, func(e watch.Event) {
			cm := e.Object.(*corev1.ConfigMap)
			rv = cm.ResourceVersion
			if e.Type == watch.Added {
				seen[cm.Name] = true
			}
			if strings.HasPrefix(cm.Name, "listed-") {
				t.Errorf("watch from %s delivered %s %s, which was in the list at that resourceVersion", listRV, e.Type, cm.Name)
			}
		}, func() bool { return seen["after-list"] && seen["after-restart"] })
		if expired {
			t.Logf("watch from %s after restart ended with 410 after delivering %v: the client relists", rv, seen)
			return
		}
		if err != nil {
			t.Fatalf("watch from resourceVersion %s after restart (seen %v): %v", listRV, seen, err)
		}
	}
}

// drainRestartWatch reads w until done holds (after an event), the server closes it, or
// ctx ends. It reports whether the watch ended with a 410 error event.
func drainRestartWatch(ctx context.Context, w watch.Interface, each func(watch.Event), done func() bool) (expired bool, err error) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("no event and no 410: %w", ctx.Err())
		case e, ok := <-w.ResultChan():
			switch {
			case !ok:
				return false, nil
			case e.Type == watch.Error:
				status := apierrors.FromObject(e.Object)
				if apierrors.IsResourceExpired(status) || apierrors.IsGone(status) {
					return true, nil
				}
				return false, fmt.Errorf("watch error event: %w", status)
			case e.Type == watch.Bookmark:
				continue
			}
			each(e)
			if done() {
				return false, nil
			}
		}
	}
}

// TestServerBadFlag proves `berth server` with an unusable flag value exits non-zero
// at once, with a message naming the flag and the value.
func TestServerBadFlag(t *testing.T) {
	bin := berthBinary(t)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, bin, "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--service-cidr", "nonsense")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if c.Err() != nil {
		t.Fatalf("berth server --service-cidr nonsense still running after 30s:\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("berth server --service-cidr nonsense: %v, want a non-zero exit\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--service-cidr") || !strings.Contains(out.String(), "nonsense") {
		t.Errorf("error output does not name the flag and its value:\n%s", out.String())
	}
}

// restartNodePortService is a NodePort Service with one port.
func restartNodePortService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

// restartDeployment is a two-replica Deployment.
func restartDeployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	replicas := int32(2)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "nginx:1.27"}}},
			},
		},
	}
}
