package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/kubelet/logs"
	"github.com/berth-dev/berth/kubelet/server"
)

// containerLogs locates the log of each container of any pod by name; none has a
// previous attempt.
type containerLogs map[string]string

func (l containerLogs) LogPath(_, pod, container string, previous bool) (string, error) {
	path, ok := l[container]
	if !ok {
		return "", fmt.Errorf("container %q in pod %q is not available: %w", container, pod, server.ErrNotFound)
	}
	if previous {
		return "", fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
	}
	return path, nil
}

// logNode starts a kubelet server serving the logs of containers "app" (lines one,
// two, three) and "side" (line side), checking tokens with the cluster's
// TokenReview, and registers Node "logs-node" pointing at it. It returns the
// writer of app's log.
func (c *readCluster) logNode(t *testing.T) *logs.Writer {
	t.Helper()
	paths := containerLogs{}
	var app *logs.Writer
	for name, lines := range map[string][]string{"app": {"one", "two", "three"}, "side": {"side"}} {
		path := filepath.Join(t.TempDir(), name+".log")
		w, err := logs.NewWriter(path, logs.WriterOptions{})
		must(t, "log writer", err)
		t.Cleanup(func() { _ = w.Close() })
		for _, l := range lines {
			must(t, "write log", w.WriteEntry("stdout", false, []byte(l)))
		}
		paths[name] = path
		if name == "app" {
			app = w
		}
	}
	srv, err := server.New(server.Options{
		Addr: "127.0.0.1:0", CertDir: t.TempDir(), Logs: paths,
		Authenticate: server.TokenReviewAuthenticator(c.ClientFor(auth.RoleNode).AuthenticationV1().TokenReviews()),
	})
	must(t, "kubelet server", err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet server: %v", err)
		}
	})
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "logs-node", Annotations: map[string]string{
		apiserver.KubeletEndpointAnnotation: "https://" + srv.Addr().String(),
	}}}
	_, err = c.Client.CoreV1().Nodes().Create(c.ctx, node, metav1.CreateOptions{})
	must(t, "create node", err)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "tools"},
		Spec: corev1.PodSpec{NodeName: "logs-node", Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/web:1"}, {Name: "side", Image: "registry.example/side:1"},
		}},
	}
	_, err = c.Client.CoreV1().Pods("tools").Create(c.ctx, pod, metav1.CreateOptions{})
	must(t, "create pod", err)
	return app
}

// testLogs reads logs through the API server's pods/log and a kubelet endpoint,
// with the readonly token.
func (c *readCluster) testLogs(t *testing.T) {
	app := c.logNode(t)
	for _, tc := range []struct {
		args               []string
		wantOut, wantNotes string
	}{
		{[]string{"web", "-n", "tools"}, "one\ntwo\nthree\n", `Defaulted container "app" out of: app, side` + "\n"},
		{[]string{"pod/web", "-n", "tools", "-c", "side"}, "side\n", ""},
		{[]string{"web", "-n", "tools", "-c", "app", "--tail", "2"}, "two\nthree\n", ""},
		{[]string{"web", "-n", "tools", "-c", "app", "--tail", "1", "--timestamps"}, "Z three\n", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, err := c.runRead(t, c.ctx, append([]string{"logs"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v: %s", err, errOut)
			}
			if !strings.HasSuffix(out, tc.wantOut) || errOut != tc.wantNotes {
				t.Errorf("got %q, stderr %q; want %q, stderr %q", out, errOut, tc.wantOut, tc.wantNotes)
			}
		})
	}
	t.Run("previous", func(t *testing.T) {
		_, errOut, err := c.runRead(t, c.ctx, "logs", "web", "-n", "tools", "-c", "app", "--previous")
		if want := `Error from server (BadRequest): previous terminated container "app" in pod "web" not found`; err == nil || !strings.HasPrefix(errOut, want) {
			t.Errorf("got %v, stderr %q; want %q", err, errOut, want)
		}
	})
	t.Run("follow", func(t *testing.T) {
		out := c.startWatching(t, "logs", "web", "-n", "tools", "-c", "app", "-f")
		waitOutput(t, out, "three\n")
		must(t, "write log", app.WriteEntry("stdout", false, []byte("four")))
		waitOutput(t, out, "three\nfour\n")
	})
}

// TestPodLogOptions: the flags of `berth logs` map onto the pods/log query.
func TestPodLogOptions(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name string
		f    logsFlags
		want corev1.PodLogOptions
	}{
		{"defaults", logsFlags{tail: -1}, corev1.PodLogOptions{Container: "c"}},
		{"follow previous timestamps", logsFlags{tail: -1, follow: true, previous: true, timestamps: true},
			corev1.PodLogOptions{Container: "c", Follow: true, Previous: true, Timestamps: true}},
		{"tail 0", logsFlags{tail: 0}, corev1.PodLogOptions{Container: "c", TailLines: i64(0)}},
		{"tail 20", logsFlags{tail: 20}, corev1.PodLogOptions{Container: "c", TailLines: i64(20)}},
		{"since rounds up", logsFlags{tail: -1, since: 1500 * time.Millisecond}, corev1.PodLogOptions{Container: "c", SinceSeconds: i64(2)}},
		{"limit bytes", logsFlags{tail: -1, limitBytes: 100}, corev1.PodLogOptions{Container: "c", LimitBytes: i64(100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(&tc.want, tc.f.podLogOptions("c")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLogContainer: -c, the default-container annotation, the only container, or
// the first with a note.
func TestLogContainer(t *testing.T) {
	pod := func(ann string, names ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
		if ann != "" {
			p.Annotations = map[string]string{defaultContainerAnnotation: ann}
		}
		for _, n := range names {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n})
		}
		return p
	}
	for _, tc := range []struct {
		name            string
		pod             *corev1.Pod
		asked           string
		want, note, err string
	}{
		{"only", pod("", "a"), "", "a", "", ""},
		{"first with a note", pod("", "a", "b"), "", "a", `Defaulted container "a" out of: a, b`, ""},
		{"annotation", pod("b", "a", "b"), "", "b", "", ""},
		{"asked", pod("", "a", "b"), "b", "b", "", ""},
		{"unknown", pod("", "a"), "x", "", "", "container x is not valid for pod p"},
		{"no containers", pod(""), "", "", "", "pod p has no containers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, note, err := logContainer(tc.pod, tc.asked)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			if got != tc.want || note != tc.note || errText != tc.err {
				t.Errorf("got %q, %q, %q; want %q, %q, %q", got, note, errText, tc.want, tc.note, tc.err)
			}
		})
	}
}
