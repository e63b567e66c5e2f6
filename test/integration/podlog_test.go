package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/discovery"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/kubelet/logs"
	"github.com/berth-dev/berth/kubelet/server"
)

// oneLog locates the log of container "c" of any pod; it has no previous attempt.
type oneLog struct{ path string }

func (l oneLog) LogPath(_, pod, container string, previous bool) (string, error) {
	if container != "c" {
		return "", fmt.Errorf("container %q in pod %q is not available: %w", container, pod, server.ErrNotFound)
	}
	if previous {
		return "", fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
	}
	return l.path, nil
}

// logNode starts a kubelet server serving a CRI log with lines "one" and "two",
// authenticating through the shared API server's TokenReview with the node's token,
// and registers a Node pointing at it. It returns the node's name and the log writer.
func logNode(t *testing.T) (string, *logs.Writer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := logs.NewWriter(path, logs.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	for _, l := range []string{"one", "two"} {
		if err := w.WriteEntry("stdout", false, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(server.Options{
		Addr: "127.0.0.1:0", CertDir: t.TempDir(), Logs: oneLog{path},
		Authenticate: server.TokenReviewAuthenticator(shared.ClientFor(auth.RoleNode).AuthenticationV1().TokenReviews()),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet server: %v", err)
		}
	})
	name := createLogNode(t, "https://"+srv.Addr().String())
	return name, w
}

// createLogNode creates a Node whose kubelet endpoint is endpoint.
func createLogNode(t *testing.T, endpoint string) string {
	t.Helper()
	name := "log-" + utilrand.String(8)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{apiserver.KubeletEndpointAnnotation: endpoint}}}
	if _, err := shared.Client.CoreV1().Nodes().Create(ctx(t), node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() {
		_ = shared.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// boundPod creates pod ns/name bound to node ("" leaves it unscheduled).
func boundPod(t *testing.T, ns, name, node string) {
	t.Helper()
	c := shared.Client.CoreV1().Pods(ns)
	if _, err := c.Create(ctx(t), pod(ns, name, nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if node == "" {
		return
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := c.Bind(ctx(t), b, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind pod: %v", err)
	}
}

func readLogs(t *testing.T, ns, name string, opts *corev1.PodLogOptions) (string, error) {
	t.Helper()
	rc, err := shared.Client.CoreV1().Pods(ns).GetLogs(name, opts).Stream(ctx(t))
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestPodLogs(t *testing.T) {
	node, w := logNode(t)
	ns := testNamespace(t, shared)
	boundPod(t, ns, "web", node)
	tail := int64(1)
	tests := []struct {
		name string
		opts corev1.PodLogOptions
		want string
	}{
		{"all", corev1.PodLogOptions{}, "one\ntwo\n"},
		{"container", corev1.PodLogOptions{Container: "c"}, "one\ntwo\n"},
		{"tail", corev1.PodLogOptions{TailLines: &tail}, "two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readLogs(t, ns, "web", &tt.opts)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("timestamps", func(t *testing.T) {
		got, err := readLogs(t, ns, "web", &corev1.PodLogOptions{Timestamps: true, TailLines: &tail})
		if err != nil || !strings.HasSuffix(got, "Z two\n") {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("follow", func(t *testing.T) {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rc, err := shared.Client.CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{Follow: true}).Stream(c)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rc.Close() }()
		r := bufio.NewReader(rc)
		for _, want := range []string{"one\n", "two\n"} {
			if l, err := r.ReadString('\n'); l != want {
				t.Fatalf("got %q, %v; want %q", l, err, want)
			}
		}
		if err := w.WriteEntry("stdout", false, []byte("three")); err != nil {
			t.Fatal(err)
		}
		if l, err := r.ReadString('\n'); l != "three\n" {
			t.Fatalf("got %q, %v; want the line appended while following", l, err)
		}
	})
}

func TestPodLogsErrors(t *testing.T) {
	node, _ := logNode(t)
	ns := testNamespace(t, shared)
	boundPod(t, ns, "web", node)
	boundPod(t, ns, "pending", "")
	boundPod(t, ns, "lost", createLogNode(t, "https://"+closedAddr(t)))
	tests := []struct {
		name, pod string
		opts      corev1.PodLogOptions
		code      int32
		msg       string
	}{
		{"unknown pod", "nope", corev1.PodLogOptions{}, 404, `pods "nope" not found`},
		{"unscheduled", "pending", corev1.PodLogOptions{}, 400, "pod pending does not have a host assigned"},
		{"unknown container", "web", corev1.PodLogOptions{Container: "x"}, 400, "container x is not valid for pod web"},
		{"no previous", "web", corev1.PodLogOptions{Previous: true}, 400, `previous terminated container "c" in pod "web" not found`},
		{"kubelet unreachable", "lost", corev1.PodLogOptions{}, 502, "cannot reach the kubelet of node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readLogs(t, ns, tt.pod, &tt.opts)
			var se apierrors.APIStatus
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not an API status", err, err)
			}
			if se.Status().Code != tt.code || !strings.Contains(se.Status().Message, tt.msg) {
				t.Errorf("got %d %q, want %d containing %q", se.Status().Code, se.Status().Message, tt.code, tt.msg)
			}
		})
	}
	t.Run("node role forbidden", func(t *testing.T) {
		_, err := shared.ClientFor(auth.RoleNode).CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{}).Stream(ctx(t))
		if !apierrors.IsForbidden(err) {
			t.Errorf("node reading pods/log: %v, want Forbidden", err)
		}
	})
	t.Run("readonly role allowed", func(t *testing.T) {
		rc, err := shared.ClientFor(auth.RoleReadonly).CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{}).Stream(ctx(t))
		if err != nil {
			t.Fatalf("readonly reading pods/log: %v", err)
		}
		_ = rc.Close()
	})
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestKubectlLogs(t *testing.T) {
	kubectlPath(t)
	node, _ := logNode(t)
	ns := testNamespace(t, shared)
	boundPod(t, ns, "web", node)
	if out := mustKubectl(t, "logs", "-n", ns, "web"); out != "one\ntwo\n" {
		t.Errorf("kubectl logs: %q", out)
	}
	if out := mustKubectl(t, "logs", "-n", ns, "pod/web", "-c", "c", "--tail=1"); out != "two\n" {
		t.Errorf("kubectl logs --tail=1: %q", out)
	}
	if out, errOut, err := kubectl(t, "readonly", "logs", "-n", ns, "web"); err != nil || out != "one\ntwo\n" {
		t.Errorf("kubectl logs as readonly: %q, %q, %v", out, errOut, err)
	}
	boundPod(t, ns, "pending", "")
	_, errOut, err := kubectl(t, "admin", "logs", "-n", ns, "pending")
	if err == nil || !strings.Contains(errOut, "pod pending does not have a host assigned") {
		t.Errorf("kubectl logs of an unscheduled pod: %v, %q", err, errOut)
	}
	_, errOut, err = kubectl(t, "admin", "logs", "-n", ns, "nope")
	if err == nil || !strings.Contains(errOut, `pods "nope" not found`) {
		t.Errorf("kubectl logs of an unknown pod: %v, %q", err, errOut)
	}
}

func TestTokenReview(t *testing.T) {
	review := func(role, token string) (*authenticationv1.TokenReview, error) {
		return shared.ClientFor(role).AuthenticationV1().TokenReviews().Create(ctx(t),
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	}
	tr, err := review(auth.RoleNode, shared.RESTConfig(auth.RoleAdmin).BearerToken)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Status.Authenticated || tr.Status.User.Username != "berth-admin" || !slices.Contains(tr.Status.User.Groups, "system:masters") {
		t.Errorf("admin token reviewed as %+v", tr.Status)
	}
	tr, err = review(auth.RoleAdmin, "not-a-token")
	if err != nil || tr.Status.Authenticated {
		t.Errorf("bogus token: %+v, %v", tr, err)
	}
	if _, err := review(auth.RoleReadonly, "x"); !apierrors.IsForbidden(err) {
		t.Errorf("readonly creating a TokenReview: %v, want Forbidden", err)
	}
	if _, err := review(auth.RoleAdmin, ""); !apierrors.IsBadRequest(err) {
		t.Errorf("empty token: %v, want BadRequest", err)
	}
}

func TestPodLogAndTokenReviewDiscovery(t *testing.T) {
	dc := discovery.NewDiscoveryClientForConfigOrDie(shared.Config)
	core, err := dc.ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(core.APIResources, func(r metav1.APIResource) bool { return r.Name == "pods/log" }) {
		t.Error("discovery lacks pods/log")
	}
	authn, err := dc.ServerResourcesForGroupVersion("authentication.k8s.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(authn.APIResources, func(r metav1.APIResource) bool { return r.Name == "tokenreviews" }) {
		t.Error("discovery lacks tokenreviews")
	}
}

// TestKubectlLogsFollow proves `kubectl logs -f` prints a line written after it started.
func TestKubectlLogsFollow(t *testing.T) {
	bin := kubectlPath(t)
	node, w := logNode(t)
	ns := testNamespace(t, shared)
	boundPod(t, ns, "web", node)

	fctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(fctx, bin, kubectlArgs("admin", []string{"logs", "-f", "-n", ns, "web"})...)
	var stdout, stderr kubectlOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()

	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for stdout.String() != want {
			select {
			case <-exited:
				t.Fatalf("kubectl logs -f exited before printing %q\nstdout:\n%s\nstderr:\n%s", want, stdout.String(), stderr.String())
			case <-deadline:
				t.Fatalf("kubectl logs -f did not print %q in 30s\nstdout:\n%s\nstderr:\n%s", want, stdout.String(), stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFor("one\ntwo\n")
	if err := w.WriteEntry("stdout", false, []byte("three")); err != nil {
		t.Fatal(err)
	}
	waitFor("one\ntwo\nthree\n")
}
