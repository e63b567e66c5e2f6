package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// The push-to-running figures run `berth up` on examples/hello.
const (
	pushes        = 10               // timed pushes (and as many direct updates)
	pushReplicas  = 3                // replicas of examples/hello
	pushWait      = 2 * time.Minute  // the most one rollout may take
	pushNode      = "bench-up"       // the node's name
	webhookToken  = "bench-token"    // the GitSource's webhook secret
	pushServiceNS = "hello"          // examples/hello's namespace
	upReadyWait   = 90 * time.Second // the most `berth up` may take to be Ready
)

// pushToRun measures the whole loop on `berth up`, a separate process with its node in
// a network namespace of its own: the time from `berth up` starting to its API server
// and Node being Ready, its resident memory idle and with examples/hello running, and
// push-to-running: from a commit (a new VERSION in the Deployment), announced by a
// webhook, to every replica Running and Ready with it and the Service answering only
// with it, p50 and p99 over pushes; beside the same rollout written straight to the API
// server (the GitSource suspended), which is what git and sync add to.
func (b *bench) pushToRun(ctx context.Context) error {
	if why := podStartMissing(); why != "" {
		b.logf("pushtorun: skipped: %s", why)
		return nil
	}
	w, err := b.newNodeWork("up")
	if err != nil {
		return err
	}
	defer w.close()
	dir, netns := w.dir, w.netns
	dataDir := filepath.Join(dir, "data")
	b.logf("pushtorun: building bin/berth and the hello image")
	berthBin, err := buildBerth(ctx, dir, filepath.Join(dataDir, "agent", "images"), "hello")
	if err != nil {
		return err
	}
	repo := filepath.Join(dir, "repo")
	if err := newHelloRepo(ctx, repo); err != nil {
		return err
	}

	// Baseline of the start: the control plane alone, `berth server`.
	serverStart, err := timeServerStart(ctx, berthBin, filepath.Join(dir, "server"))
	if err != nil {
		return fmt.Errorf("berth server: %w", err)
	}

	listen, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	b.logf("pushtorun: berth up on %s, node namespace %s", listen, netns)
	up, err := startUp(berthBin, dataDir, listen, netns)
	if err != nil {
		return err
	}
	w.onClose(func() {
		kctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := runtime.KillAllTasks(kctx, filepath.Join(dataDir, "agent", "containerd", "containerd.sock")); err != nil {
			b.logf("pushtorun: kill containerd tasks: %v", err)
		}
		cancel()
		up.stop()
	})
	client, dyn, err := waitUpReady(ctx, up, dataDir)
	if err != nil {
		return err
	}
	upStart := time.Since(up.started)
	time.Sleep(3 * time.Second)
	idle, err := readProcMem(up.cmd.Process.Pid)
	if err != nil {
		return err
	}

	b.logf("pushtorun: a GitSource on examples/hello with a webhook")
	if err := followRepo(ctx, client, dyn, repo); err != nil {
		return err
	}
	svcIP, err := waitRolledOut(ctx, up, client, "v1")
	if err != nil {
		return fmt.Errorf("first rollout: %w", err)
	}
	hook := "https://" + listen + "/hooks/git/kube-system/default"
	var pushLat []time.Duration
	for i := range pushes {
		version := "v" + strconv.Itoa(i+2)
		if err := commitVersion(ctx, repo, version); err != nil {
			return err
		}
		start := time.Now()
		if err := postWebhook(ctx, hook); err != nil {
			return err
		}
		if _, err := waitServing(ctx, up, client, svcIP, netns, version); err != nil {
			return fmt.Errorf("push %d: %w", i+1, err)
		}
		pushLat = append(pushLat, time.Since(start))
		b.logf("pushtorun: push %d (%s) running in %s", i+1, version, pushLat[len(pushLat)-1].Round(time.Millisecond))
	}
	withDemo, err := readProcMem(up.cmd.Process.Pid)
	if err != nil {
		return err
	}

	if err := suspendSource(ctx, dyn); err != nil {
		return err
	}
	var directLat []time.Duration
	for i := range pushes {
		version := "d" + strconv.Itoa(i+1)
		start := time.Now()
		if err := setVersion(ctx, client, version); err != nil {
			return err
		}
		if _, err := waitServing(ctx, up, client, svcIP, netns, version); err != nil {
			return fmt.Errorf("direct update %d: %w", i+1, err)
		}
		directLat = append(directLat, time.Since(start))
	}

	p, q := sorted(pushLat), sorted(directLat)
	b.add(fmt.Sprintf("push to running: commit + webhook to %d replicas Ready and the Service serving it (%d pushes)", pushReplicas, pushes),
		fmt.Sprintf("p50 %s, p99 %s", ms(percentile(p, 50)), ms(percentile(p, 99))),
		fmt.Sprintf("p50 %s, p99 %s", ms(percentile(q, 50)), ms(percentile(q, 99))),
		percentile(p, 50).Seconds()/percentile(q, 50).Seconds(),
		"`berth up` (one process, its node in a netns), examples/hello with a new VERSION each push: a rolling update of 3 replicas "+
			"(maxSurge 100%, readiness probe every 1 s); from the webhook POST to every replica Ready and every answer of the ClusterIP the new version; "+
			"baseline: the same change written straight to the Deployment (GitSource suspended); ratio of p50s. "+
			"For scale: Argo CD polls every 3 min by default, Flux every 1 min; Kubernetes' pod start SLO is p99 ≤ 5 s")
	b.add("berth up: start to API server and Node Ready",
		ms(upStart), ms(serverStart), upStart.Seconds()/serverStart.Seconds(),
		"fresh data dir, embedded etcd; berth: until /readyz answers and the Node is Ready (its containerd started, CNI set up); "+
			"baseline: `berth server` alone to /readyz")
	b.add("berth up resident memory, examples/hello running (3 pods)",
		withDemo.String(), idle.String(), float64(withDemo.anon)/float64(idle.anon),
		"the `berth up` process (API server, etcd, scheduler, controllers, sync, kubelet, kube-proxy, DNS); containerd, shims and pods not counted; "+
			"baseline: the same process idle, no pods; ratio of anon; k3s documents 1.6 GB for a server")
	return nil
}

// upProc is a running `berth up`.
type upProc struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{}
	err     error
}

// startUp starts `berth up` with its node in netns.
func startUp(bin, dataDir, listen, netns string) (*upProc, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	u := &upProc{log: filepath.Join(filepath.Dir(dataDir), "up.log"), done: make(chan struct{})}
	out, err := os.Create(u.log)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	u.cmd = exec.Command(bin, "up", "--data-dir", dataDir, "--listen", listen, "--node-name", pushNode,
		"--node-netns", "/run/netns/"+netns, "--kubelet-addr", "127.0.0.1:0")
	u.cmd.Stdout, u.cmd.Stderr = out, out
	u.started = time.Now()
	if err := u.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start berth up: %w", err)
	}
	go func() { u.err = u.cmd.Wait(); close(u.done) }()
	return u, nil
}

// stop sends SIGTERM, then SIGKILL after 30 s, and waits.
func (u *upProc) stop() {
	select {
	case <-u.done:
		return
	default:
	}
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.done:
	case <-time.After(30 * time.Second):
		_ = u.cmd.Process.Kill()
		<-u.done
	}
}

// exited returns an error naming the log once `berth up` has exited.
func (u *upProc) exited() error {
	select {
	case <-u.done:
		return fmt.Errorf("berth up exited: %v (log: %s)", u.err, u.log)
	default:
		return nil
	}
}

// waitUpReady waits until `berth up` serves (its admin kubeconfig works and /readyz
// answers) and its Node is Ready, and returns clients for it.
func waitUpReady(ctx context.Context, u *upProc, dataDir string) (kubernetes.Interface, dynamic.Interface, error) {
	deadline := time.Now().Add(upReadyWait)
	var client kubernetes.Interface
	var dyn dynamic.Interface
	for {
		if err := u.exited(); err != nil {
			return nil, nil, err
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("berth up not Ready within %s (log: %s)", upReadyWait, u.log)
		}
		if client == nil {
			if cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "admin.kubeconfig")); err == nil {
				cfg.QPS, cfg.Burst = 100, 200
				client, _ = kubernetes.NewForConfig(cfg)
				dyn, _ = dynamic.NewForConfig(cfg)
			}
		}
		if client != nil {
			n, err := client.CoreV1().Nodes().Get(ctx, pushNode, metav1.GetOptions{})
			if err == nil && nodeIsReady(n) {
				return client, dyn, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// timeServerStart runs `berth server` on a fresh data dir until /readyz answers, and
// returns how long that took.
func timeServerStart(ctx context.Context, bin, dataDir string) (time.Duration, error) {
	listen, err := freeLoopbackAddr()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "server", "--data-dir", dataDir, "--listen", listen)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for time.Since(start) < upReadyWait {
		resp, err := hc.Get("https://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return time.Since(start), nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("berth server not ready within %s", upReadyWait)
}

// freeLoopbackAddr returns a free TCP port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// newHelloRepo makes a git repository of examples/hello at dir.
func newHelloRepo(ctx context.Context, dir string) error {
	if out, err := exec.CommandContext(ctx, "cp", "-r", "examples/hello", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("copy examples/hello: %w: %s", err, out)
	}
	if err := gitIn(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	return commitAll(ctx, dir, "hello")
}

// commitVersion sets the Deployment's VERSION in the repository and commits.
func commitVersion(ctx context.Context, dir, version string) error {
	path := filepath.Join(dir, "deployment.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "- name: VERSION" && i+1 < len(lines) {
			indent := lines[i+1][:len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " "))]
			lines[i+1] = indent + `value: "` + version + `"`
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return err
	}
	return commitAll(ctx, dir, "hello "+version)
}

func commitAll(ctx context.Context, dir, msg string) error {
	if err := gitIn(ctx, dir, "add", "-A"); err != nil {
		return err
	}
	return gitIn(ctx, dir, "-c", "user.name=bench", "-c", "user.email=bench@berth.local", "commit", "-q", "-m", msg)
}

func gitIn(ctx context.Context, dir string, args ...string) error {
	if out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// followRepo makes the GitSource kube-system/default follow repo, with a webhook
// secret and a long poll interval, so that pushes arrive by webhook.
func followRepo(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, repo string) error {
	_, err := client.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-webhook", Namespace: "kube-system"},
		Data:       map[string][]byte{"token": []byte(webhookToken)},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	gs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "berth.dev/v1alpha1", "kind": "GitSource",
		"metadata": map[string]any{"name": "default", "namespace": "kube-system"},
		"spec": map[string]any{
			"url": repo, "branch": "main", "path": ".", "interval": "10m",
			"webhookSecretRef": map[string]any{"name": "bench-webhook"},
		},
	}}
	_, err = dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace("kube-system").Create(ctx, gs, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create GitSource: %w", err)
	}
	return nil
}

// suspendSource suspends the GitSource, so that direct writes stay.
func suspendSource(ctx context.Context, dyn dynamic.Interface) error {
	_, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace("kube-system").Patch(ctx, "default",
		types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("suspend GitSource: %w", err)
	}
	return nil
}

// postWebhook announces a push the way GitLab does (its token in a header).
func postWebhook(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(`{"object_kind":"push"}`)))
	if err != nil {
		return err
	}
	req.Header.Set("X-Gitlab-Token", webhookToken)
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("webhook: status %d: %s", resp.StatusCode, body)
	}
	return nil
}

// setVersion writes the Deployment's VERSION straight to the API server.
func setVersion(ctx context.Context, client kubernetes.Interface, version string) error {
	d, err := client.AppsV1().Deployments(pushServiceNS).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		return err
	}
	for i, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "VERSION" {
			d.Spec.Template.Spec.Containers[0].Env[i].Value = version
		}
	}
	_, err = client.AppsV1().Deployments(pushServiceNS).Update(ctx, d, metav1.UpdateOptions{})
	return err
}

// waitRolledOut waits for the first rollout of examples/hello and returns the
// Service's ClusterIP.
func waitRolledOut(ctx context.Context, u *upProc, client kubernetes.Interface, version string) (string, error) {
	deadline := time.Now().Add(pushWait)
	for time.Now().Before(deadline) {
		if err := u.exited(); err != nil {
			return "", err
		}
		svc, err := client.CoreV1().Services(pushServiceNS).Get(ctx, "hello", metav1.GetOptions{})
		d, derr := client.AppsV1().Deployments(pushServiceNS).Get(ctx, "hello", metav1.GetOptions{})
		if err == nil && derr == nil && rolledOut(d) {
			return svc.Spec.ClusterIP, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("examples/hello %s not rolled out within %s (log: %s)", version, pushWait, u.log)
}

// rolledOut says whether the Deployment's replicas are all updated and available,
// with no old ones left.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.Replicas == want && s.UpdatedReplicas == want && s.AvailableReplicas == want
}

// waitServing waits until the Deployment has rolled out and the Service's ClusterIP,
// asked from the node, answers with version every time (six answers in a row).
func waitServing(ctx context.Context, u *upProc, client kubernetes.Interface, svcIP, netns, version string) (time.Duration, error) {
	start := time.Now()
	want := "(" + version + ")"
	for time.Since(start) < pushWait {
		if err := u.exited(); err != nil {
			return 0, err
		}
		d, err := client.AppsV1().Deployments(pushServiceNS).Get(ctx, "hello", metav1.GetOptions{})
		if err == nil && rolledOut(d) && templateVersion(d) == version {
			ok := true
			for range 6 {
				body, err := getIn("/run/netns/"+netns, net.JoinHostPort(svcIP, "80"))
				if err != nil || !strings.Contains(body, want) {
					ok = false
					break
				}
			}
			if ok {
				return time.Since(start), nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not served within %s (log: %s)", version, pushWait, u.log)
}

// templateVersion is the VERSION in the Deployment's pod template.
func templateVersion(d *appsv1.Deployment) string {
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "VERSION" {
			return e.Value
		}
	}
	return ""
}

// getIn GETs / from addr over a new connection made in netns.
func getIn(netns, addr string) (string, error) {
	var conn net.Conn
	if err := network.Do(netns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(b), nil
}
