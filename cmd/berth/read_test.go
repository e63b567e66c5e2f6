package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/cli"
)

// readCase is one command line, the golden file of its output, and the table
// columns that vary from run to run.
type readCase struct {
	name   string
	args   []string
	golden string
	mask   []string
	// wantErr is the error printed (stderr), if the command fails.
	wantErr string
}

// newReadCommand builds the read command args[0] names.
func newReadCommand(t *testing.T, env *readEnv, name string) *cobra.Command {
	t.Helper()
	switch name {
	case "get":
		return newGetCommand(env)
	case "describe":
		return newDescribeCommand(env)
	case "events":
		return newEventsCommand(env)
	case "status":
		return newStatusCommand(env)
	case "logs":
		return newLogsCommand(env)
	}
	t.Fatalf("no read command %q", name)
	return nil
}

// runRead runs `berth args...` with the readonly kubeconfig and checks that it made
// requests, all of them reads.
func (c *readCluster) runRead(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env, log := testEnv()
	cmd := newReadCommand(t, env, args[0])
	stdout, stderr, err = runCommand(ctx, cmd, append(args[1:], "--kubeconfig", c.readonly)...)
	if err == nil && log.count() == 0 {
		t.Errorf("berth %s made no request", strings.Join(args, " "))
	}
	if w := log.writes(); len(w) > 0 {
		t.Errorf("berth %s wrote: %v", strings.Join(args, " "), w)
	}
	return stdout, stderr, err
}

// TestReadCommands runs every read command on one cluster with the readonly
// token: golden output for status, get, describe and events, errors as kubectl
// prints them, --watch, and logs through a kubelet endpoint. Every run is checked
// to make GET requests only, and a write with the same kubeconfig is refused.
func TestReadCommands(t *testing.T) {
	c := startReadCluster(t)

	t.Run("golden", func(t *testing.T) {
		for _, tc := range []readCase{
			{name: "status", args: []string{"status"}, golden: "status.txt"},
			{name: "status json", args: []string{"status", "-o", "json"}, golden: "status.json"},
			{name: "get pods wide", args: []string{"get", "pods", "-n", "tools", "-o", "wide"}, golden: "get-pods-wide.txt", mask: []string{"AGE", "IP"}},
			{name: "get pod by name", args: []string{"get", "po", "debug", "-n", "tools"}, golden: "get-pod.txt", mask: []string{"AGE"}},
			{name: "get several kinds", args: []string{"get", "deploy,svc,ds,job,cm", "-n", "shop"}, golden: "get-shop.txt", mask: []string{"AGE", "DURATION"}},
			{name: "get all", args: []string{"get", "all", "-n", "shop"}, golden: "get-all.txt", mask: []string{"AGE", "DURATION"}},
			{name: "get nodes", args: []string{"get", "no"}, golden: "get-nodes.txt", mask: []string{"AGE"}},
			{name: "get gitsources wide", args: []string{"get", "gs", "-A", "-o", "wide"}, golden: "get-gitsources-wide.txt", mask: []string{"AGE"}},
			{name: "get label selector", args: []string{"get", "pods", "-A", "-l", "role=debug"}, golden: "get-selector.txt", mask: []string{"AGE"}},
			{name: "get yaml", args: []string{"get", "configmap", "settings", "-n", "shop", "-o", "yaml"}, golden: "get-configmap.yaml"},
			{name: "get name", args: []string{"get", "deployments.apps", "-n", "shop", "-o", "name"}, golden: "get-name.txt"},
			{name: "describe deployment", args: []string{"describe", "deployment", "web", "-n", "shop"}, golden: "describe-deployment.txt", mask: []string{"Age"}},
			{name: "describe gitsource", args: []string{"describe", "gitsource/default", "-n", "kube-system"}, golden: "describe-gitsource.txt"},
			{name: "describe pod", args: []string{"describe", "pod", "debug", "-n", "tools"}, golden: "describe-pod.txt"},
			{name: "describe job", args: []string{"describe", "jobs", "migrate", "-n", "shop"}, golden: "describe-job.txt", mask: []string{"Age"}},
			{name: "describe service", args: []string{"describe", "svc", "web", "-n", "shop"}, golden: "describe-service.txt"},
			{name: "describe node", args: []string{"describe", "node", "node-a"}, golden: "describe-node.txt", mask: []string{"LastHeartbeat", "Age", "Name"}},
			{name: "describe configmap", args: []string{"describe", "cm", "settings", "-n", "shop"}, golden: "describe-configmap.txt"},
			{name: "events", args: []string{"events", "-n", "tools", "--types", "Warning"}, golden: "events-warnings.txt"},
			{name: "events of a namespace", args: []string{"events", "-n", "kube-system"}, golden: "events-kube-system.txt"},
			{name: "events of an object", args: []string{"events", "-n", "shop", "--for", "deploy/web"}, golden: "events-for.txt", mask: []string{"LAST SEEN"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, errOut, err := c.runRead(t, c.ctx, tc.args...)
				if err != nil {
					t.Fatalf("berth %s: %v\n%s", strings.Join(tc.args, " "), err, errOut)
				}
				checkGolden(t, tc.golden, normalize(out, tc.mask...))
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []readCase{
			{args: []string{"get", "pods", "web", "-n", "shop"}, wantErr: `Error from server (NotFound): pods "web" not found`},
			{args: []string{"get", "foo"}, wantErr: `error: the server doesn't have a resource type "foo"`},
			{args: []string{"get", "secrets", "-n", "shop"}, wantErr: `Error from server (Forbidden): secrets is forbidden: User "berth-readonly" cannot list resource "secrets" in API group "" in the namespace "shop"`},
			{args: []string{"describe", "deploy", "nope", "-n", "shop"}, wantErr: `Error from server (NotFound): deployments.apps "nope" not found`},
			{args: []string{"logs", "nope", "-n", "shop"}, wantErr: `Error from server (NotFound): pods "nope" not found`},
			{args: []string{"logs", "debug", "-n", "tools", "-c", "other"}, wantErr: `error: container other is not valid for pod debug`},
			{args: []string{"get", "pods", "-o", "table"}, wantErr: `error: unknown output format "table": want wide, yaml, json or name`},
			{args: []string{"get", "pods", "--bogus"}, wantErr: "error: unknown flag: --bogus\nSee 'get --help' for usage."},
		} {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				out, errOut, err := c.runRead(t, c.ctx, tc.args...)
				if err == nil {
					t.Fatalf("succeeded: %s", out)
				}
				if !strings.HasPrefix(errOut, tc.wantErr) {
					t.Errorf("stderr %q, want it to begin with %q", errOut, tc.wantErr)
				}
			})
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.kubeconfig")
		must(t, "write kubeconfig", auth.WriteKubeconfig(bad, c.URL(), c.RESTConfig(auth.RoleReadonly).CAData, "nobody", "not-a-token"))
		for _, name := range []string{"status", "get", "describe", "events", "logs"} {
			env, _ := testEnv()
			args := map[string][]string{"get": {"pods"}, "describe": {"pod", "debug"}, "logs": {"debug"}}[name]
			_, errOut, err := runCommand(c.ctx, newReadCommand(t, env, name), append(args, "--kubeconfig", bad)...)
			if want := "error: You must be logged in to the server (Unauthorized)\n"; err == nil || errOut != want {
				t.Errorf("berth %s: %v, stderr %q; want %q", name, err, errOut, want)
			}
		}
	})

	t.Run("nothing found", func(t *testing.T) {
		out, errOut, err := c.runRead(t, c.ctx, "get", "pods", "-n", "default")
		if err != nil || out != "" || errOut != "No resources found in default namespace.\n" {
			t.Errorf("got %q, %q, %v", out, errOut, err)
		}
	})

	t.Run("readonly token cannot write", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "shop"}}
		_, err := c.readonlyClient(t).CoreV1().ConfigMaps("shop").Create(c.ctx, cm, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("create with the readonly kubeconfig: %v, want 403 Forbidden", err)
		}
	})

	t.Run("status watch", func(t *testing.T) { c.testStatusWatch(t) })
	t.Run("get watch", func(t *testing.T) { c.testGetWatch(t) })
	t.Run("events watch", func(t *testing.T) { c.testEventsWatch(t) })
	t.Run("logs", func(t *testing.T) { c.testLogs(t) })
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWatching runs a watching command until the test ends; it returns its
// output so far.
func (c *readCluster) startWatching(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	env, log := testEnv()
	cmd := newReadCommand(t, env, args[0])
	out := &syncBuffer{}
	cmd.SetArgs(append(args[1:], "--kubeconfig", c.readonly))
	cmd.SetOut(out)
	cmd.SetErr(out)
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("berth %s: %v", strings.Join(args, " "), err)
		}
		if w := log.writes(); len(w) > 0 {
			t.Errorf("berth %s wrote: %v", strings.Join(args, " "), w)
		}
	})
	return out
}

// waitOutput waits until out contains want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// warningEvent creates a Warning event in tools at fixedNow.
func (c *readCluster) warningEvent(t *testing.T, name, reason, msg string) {
	t.Helper()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "tools"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "tools", Name: "debug"},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: msg, Count: 1,
		FirstTimestamp: metav1.NewTime(fixedNow), LastTimestamp: metav1.NewTime(fixedNow),
	}
	_, err := c.Client.CoreV1().Events("tools").Create(c.ctx, ev, metav1.CreateOptions{})
	must(t, "create event", err)
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Events("tools").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// testStatusWatch: `berth status --watch` draws the screen, then draws it again
// when a Warning event appears.
func (c *readCluster) testStatusWatch(t *testing.T) {
	out := c.startWatching(t, "status", "--watch")
	waitOutput(t, out, "RECENT WARNINGS")
	c.warningEvent(t, "status-watch", "ImagePullBackOff", "the status screen sees this")
	waitOutput(t, out, "the status screen sees this")
	if n := strings.Count(out.String(), "GIT SOURCES"); n != 2 {
		t.Errorf("drew the screen %d times, want 2 (once, then once for the change):\n%s", n, out.String())
	}
}

// testEventsWatch: `berth events --watch` lists the events, then prints new ones.
func (c *readCluster) testEventsWatch(t *testing.T) {
	out := c.startWatching(t, "events", "-n", "tools", "--watch", "--types", "Warning")
	waitOutput(t, out, "BackOff")
	c.warningEvent(t, "events-watch", "Unhealthy", "the event watch sees this")
	waitOutput(t, out, "the event watch sees this")
}

// TestReadCommandsWithoutServer: every command says at once that the server
// refused the connection, as kubectl does, instead of waiting.
func TestReadCommandsWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, "listen", err)
	addr := ln.Addr().String()
	must(t, "close", ln.Close())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, "write kubeconfig", auth.WriteKubeconfig(kubeconfig, "https://"+addr, nil, "berth-readonly", "token"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{{"status"}, {"get", "pods"}, {"describe", "pod", "x"}, {"events"}, {"logs", "x"}} {
		env, _ := testEnv()
		_, errOut, err := runCommand(ctx, newReadCommand(t, env, args[0]), append(args[1:], "--kubeconfig", kubeconfig)...)
		want := "The connection to the server " + addr + " was refused - did you specify the right host or port?\n"
		if err == nil || errOut != want {
			t.Errorf("berth %s: %v, stderr %q; want %q", strings.Join(args, " "), err, errOut, want)
		}
	}
}

// testGetWatch: `berth get pods --watch` lists the pods, then prints a row for a
// pod created later, aligned with the table.
func (c *readCluster) testGetWatch(t *testing.T) {
	out := c.startWatching(t, "get", "pods", "-n", "tools", "--watch")
	waitOutput(t, out, "debug")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "watched", Namespace: "tools"},
		Spec:       corev1.PodSpec{NodeName: "node-b", Containers: []corev1.Container{{Name: "c", Image: "registry.example/c:1"}}},
	}
	_, err := c.Client.CoreV1().Pods("tools").Create(c.ctx, pod, metav1.CreateOptions{})
	must(t, "create pod", err)
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Pods("tools").Delete(context.Background(), "watched", metav1.DeleteOptions{})
	})
	waitOutput(t, out, "watched   0/1     Pending")
	waitOutput(t, out, "watched   1/1     Running")
}

// TestFallbackTable: a server without Tables gets NAME and AGE columns computed
// here, for a list and for one object.
func TestFallbackTable(t *testing.T) {
	list := `{"kind":"WidgetList","apiVersion":"example.com/v1","metadata":{"resourceVersion":"42"},"items":[
		{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"name":"a","namespace":"x","creationTimestamp":"2030-01-02T03:00:05Z"}},
		{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"name":"b","namespace":"y","creationTimestamp":"2030-01-01T03:04:05Z"}}]}`
	st, err := fallbackTable([]byte(list), false, fixedNow)
	must(t, "list", err)
	var b bytes.Buffer
	must(t, "write", cli.FromServerTable(st, cli.ServerTableOptions{WithNamespace: true}).Write(&b, false))
	if want := "NAMESPACE   NAME   AGE\nx           a      4m\ny           b      24h\n"; b.String() != want || st.ResourceVersion != "42" {
		t.Errorf("got\n%s(rv %q)\nwant\n%s", b.String(), st.ResourceVersion, want)
	}
	one := `{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"name":"a","creationTimestamp":"2030-01-02T03:04:00Z"}}`
	st, err = fallbackTable([]byte(one), true, fixedNow)
	must(t, "object", err)
	b.Reset()
	must(t, "write", cli.FromServerTable(st, cli.ServerTableOptions{}).Write(&b, true))
	if want := "a     5s\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
