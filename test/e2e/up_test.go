package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/mounts"
	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/internal/testcontainerd"
)

// upToken is the webhook secret of the test's GitSource.
const upToken = "push-token"

// TestUpPushToRunning runs `berth up` as a user does, on a copy of
// examples/hello in a real git repository, with its node in a network
// namespace: the Deployment comes up from git and its Service answers; a
// commit announced by a webhook is running (every replica Ready, the
// Service answering only the new version) soon after; and a restart of
// `berth up` keeps every container running, untouched.
func TestUpPushToRunning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: containerd, namespaces, CNI")
	}
	requireTools(t)
	work := t.TempDir()
	bin := filepath.Join(work, "berth")
	build := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/berth: %v\n%s", err, out)
	}
	repo := filepath.Join(work, "repo")
	if out, err := exec.Command("cp", "-r", "../../examples/hello", repo).CombinedOutput(); err != nil {
		t.Fatalf("copy examples/hello: %v: %s", err, out)
	}
	git(t, repo, "init", "-q", "-b", "main")
	gitCommitAll(t, repo, "hello")

	netns := netnstest.NewNode(t, "up")
	ctd := testcontainerd.Start(t)
	up := &realNode{name: "up", net: netns, ctd: ctd, dataDir: filepath.Join(work, "data")}
	up.logPath = filepath.Join(work, "up.log")
	buildImages(t, filepath.Join(up.dataDir, "agent", "images"))
	t.Cleanup(func() {
		removePinned(t, filepath.Join(up.dataDir, "agent", "netns"))
		if err := mounts.UnmountUnder(up.dataDir); err != nil {
			t.Errorf("unmount under %s: %v", up.dataDir, err)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	up.args = []string{"up", "--data-dir", up.dataDir, "--listen", listen, "--repo", repo,
		"--node-name", "up-node", "--node-netns", netns.Path, "--containerd-address", ctd.Address, "--kubelet-addr", "127.0.0.1:0"}
	up.start(t, bin)
	t.Cleanup(func() {
		up.stop()
		if t.Failed() {
			up.logTail(t)
		}
	})

	client, dyn := upClients(t, up)
	waitFor(t, "Node up-node Ready", func() (string, bool) {
		n, err := client.CoreV1().Nodes().Get(context.Background(), "up-node", metav1.GetOptions{})
		if err != nil {
			return err.Error(), false
		}
		return fmt.Sprint(n.Status.Conditions), nodeReady(client, "up-node").Status == corev1.ConditionTrue
	})
	svc := waitFor(t, "Service hello", func() (*corev1.Service, bool) {
		s, err := client.CoreV1().Services("hello").Get(context.Background(), "hello", metav1.GetOptions{})
		return s, err == nil
	})
	serving := func(version string) {
		t.Helper()
		waitFor(t, "3 replicas Ready and the Service answering only "+version, func() (map[string]int, bool) {
			if !rolledOutTo(client, version) {
				return nil, false
			}
			seen := map[string]int{}
			for range 12 {
				body, err := tryHTTPGetIn(netns.Path, net.JoinHostPort(svc.Spec.ClusterIP, "80"))
				if err != nil {
					return map[string]int{err.Error(): 1}, false
				}
				if _, line, ok := strings.Cut(body, "\r\n\r\n"); ok {
					seen[strings.TrimSpace(line)]++
				}
			}
			for line := range seen {
				if !strings.Contains(line, "("+version+")") {
					return seen, false
				}
			}
			return seen, true
		})
	}
	serving("v1")

	// A push announced by a webhook.
	if _, err := client.CoreV1().Secrets("kube-system").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "push-hook", Namespace: "kube-system"},
		Data:       map[string][]byte{"token": []byte(upToken)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace("kube-system").Patch(context.Background(), "default",
		types.MergePatchType, []byte(`{"spec":{"webhookSecretRef":{"name":"push-hook"},"interval":"10m"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deployment := filepath.Join(repo, "deployment.yaml")
	data, err := os.ReadFile(deployment)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deployment, bytes.Replace(data, []byte(`value: "v1"`), []byte(`value: "v2"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, repo, "hello v2")
	pushed := time.Now()
	postPushHook(t, "https://"+listen+"/hooks/git/kube-system/default")
	serving("v2")
	t.Logf("push to running (3 replicas Ready, the Service answering v2 only): %s", time.Since(pushed).Round(time.Millisecond))

	// A restart of berth up keeps the containers running.
	before := helloContainers(t, client)
	up.stop()
	up.start(t, bin)
	client, _ = upClients(t, up)
	waitFor(t, "Node up-node Ready after the restart", func() (corev1.NodeCondition, bool) {
		c := nodeReady(client, "up-node")
		return c, c.Status == corev1.ConditionTrue && time.Since(c.LastHeartbeatTime.Time) < 10*time.Second
	})
	serving("v2")
	if after := helloContainers(t, client); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("containers across a restart of berth up:\nbefore %v\nafter  %v\nwant the same, still running, not restarted", before, after)
	}
}

// upClients waits for `berth up`'s admin kubeconfig and API server and
// returns clients with it.
func upClients(t *testing.T, up *realNode) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg := waitFor(t, "berth up's API server", func() (*rest.Config, bool) {
		select {
		case <-up.agent.done:
			t.Fatalf("berth up exited")
		default:
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(up.dataDir, "admin.kubeconfig"))
		if err != nil {
			return nil, false
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, false
		}
		_, err = c.Discovery().ServerVersion()
		return cfg, err == nil
	})
	return kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)
}

// rolledOutTo says whether Deployment hello/hello has all its replicas
// updated, available and running version, and no others.
func rolledOutTo(client kubernetes.Interface, version string) bool {
	d, err := client.AppsV1().Deployments("hello").Get(context.Background(), "hello", metav1.GetOptions{})
	if err != nil || d.Spec.Replicas == nil {
		return false
	}
	want, s := *d.Spec.Replicas, d.Status
	if s.ObservedGeneration < d.Generation || s.Replicas != want || s.UpdatedReplicas != want || s.AvailableReplicas != want {
		return false
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "VERSION" {
			return e.Value == version
		}
	}
	return false
}

// helloContainers lists "pod container-id started-at restarts" for the
// running hello pods, sorted.
func helloContainers(t *testing.T, client kubernetes.Interface) []string {
	t.Helper()
	pods, err := client.CoreV1().Pods("hello").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			started := ""
			if cs.State.Running != nil {
				started = cs.State.Running.StartedAt.UTC().Format(time.RFC3339)
			}
			out = append(out, fmt.Sprintf("%s %s %s %d", p.Name, cs.ContainerID, started, cs.RestartCount))
		}
	}
	slices.Sort(out)
	return out
}

// postPushHook announces a push as GitLab does, with the token in a header.
func postPushHook(t *testing.T, url string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"object_kind":"push"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Gitlab-Token", upToken)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: status %d, want 202", resp.StatusCode)
	}
}

// git runs git in dir.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// gitCommitAll commits everything in dir.
func gitCommitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=e2e", "-c", "user.email=e2e@berth.local", "commit", "-q", "-m", msg)
}
