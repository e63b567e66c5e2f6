package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/kubelet/logs"
)

// fakeLogs locates the logs of pod default/web: container app (current and previous).
type fakeLogs struct {
	current, previous string
}

func (f *fakeLogs) LogPath(ns, pod, container string, previous bool) (string, error) {
	if ns != "default" || pod != "web" || container != "app" {
		return "", fmt.Errorf("container %q in pod %q is not available: %w", container, pod, ErrNotFound)
	}
	if previous {
		if f.previous == "" {
			return "", fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
		}
		return f.previous, nil
	}
	return f.current, nil
}

const testToken = "secret-token"

func testAuthenticate(_ context.Context, token string) (string, []string, error) {
	switch token {
	case testToken:
		return "berth-admin", []string{AdminGroup, "system:authenticated"}, nil
	case "reader":
		return "berth-readonly", []string{"berth:readonly"}, nil
	}
	return "", nil, errors.New("bad token")
}

// writeLog writes lines to a new CRI log file in dir and returns its writer, still open.
func writeLog(t *testing.T, path string, lines ...string) *logs.Writer {
	t.Helper()
	w, err := logs.NewWriter(path, logs.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	for _, l := range lines {
		if err := w.WriteEntry("stdout", false, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// startServer runs a Server on a free loopback port and returns its base URL.
func startServer(t *testing.T, loc LogLocator) string {
	t.Helper()
	s, err := New(Options{Addr: "127.0.0.1:0", CertDir: t.TempDir(), Logs: loc, Authenticate: testAuthenticate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return "https://" + s.Addr().String()
}

var insecureClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

func get(t *testing.T, ctx context.Context, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := insecureClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestContainerLogs(t *testing.T) {
	dir := t.TempDir()
	cur, prev := filepath.Join(dir, "1.log"), filepath.Join(dir, "0.log")
	writeLog(t, cur, "one", "two", "three")
	writeLog(t, prev, "before crash")
	base := startServer(t, &fakeLogs{current: cur, previous: prev})
	noPrev := startServer(t, &fakeLogs{current: cur})

	tests := []struct {
		name, base, path, token string
		code                    int
		body                    string // exact, or with prefix "~" a substring
	}{
		{"all", base, "/containerLogs/default/web/app", testToken, 200, "one\ntwo\nthree\n"},
		{"tail", base, "/containerLogs/default/web/app?tailLines=2", testToken, 200, "two\nthree\n"},
		{"limit", base, "/containerLogs/default/web/app?limitBytes=6", testToken, 200, "one\ntw"},
		{"since", base, "/containerLogs/default/web/app?sinceSeconds=3600", testToken, 200, "one\ntwo\nthree\n"},
		{"timestamps", base, "/containerLogs/default/web/app?tailLines=1&timestamps=true", testToken, 200, "~Z three\n"},
		{"previous", base, "/containerLogs/default/web/app?previous=true", testToken, 200, "before crash\n"},
		{"no previous", noPrev, "/containerLogs/default/web/app?previous=true", testToken, 400, "previous terminated container \"app\" in pod \"web\" not found\n"},
		{"unknown container", base, "/containerLogs/default/web/nope", testToken, 404, "~container \"nope\" in pod \"web\" is not available"},
		{"bad tail", base, "/containerLogs/default/web/app?tailLines=x", testToken, 400, "~tailLines"},
		{"no token", base, "/containerLogs/default/web/app", "", 401, "Unauthorized\n"},
		{"bad token", base, "/containerLogs/default/web/app", "wrong", 401, "Unauthorized\n"},
		{"not admin", base, "/containerLogs/default/web/app", "reader", 403, "~Forbidden"},
		{"healthz", base, "/healthz", testToken, 200, "ok"},
		{"healthz no token", base, "/healthz", "", 401, "Unauthorized\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, context.Background(), tt.base+tt.path, tt.token)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.code, body)
			}
			if sub, ok := strings.CutPrefix(tt.body, "~"); ok {
				if !strings.Contains(string(body), sub) {
					t.Errorf("body %q does not contain %q", body, sub)
				}
			} else if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

func TestContainerLogsFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := writeLog(t, path, "first")
	base := startServer(t, &fakeLogs{current: path})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := get(t, ctx, base+"/containerLogs/default/web/app?follow=true", testToken)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	readLine := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read followed log: %v", err)
		}
		return l
	}
	if l := readLine(); l != "first\n" {
		t.Fatalf("got %q, want first", l)
	}
	if err := w.WriteEntry("stderr", false, []byte("appended")); err != nil {
		t.Fatal(err)
	}
	if l := readLine(); l != "appended\n" {
		t.Fatalf("got %q, want appended", l)
	}
}

// doneLogs is fakeLogs whose container has exited.
type doneLogs struct {
	fakeLogs
	done chan struct{}
}

func (d *doneLogs) LogDone(_, _, _ string) <-chan struct{} { return d.done }

func TestContainerLogsFollowEndsWhenContainerExits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, "last words")
	d := &doneLogs{fakeLogs: fakeLogs{current: path}, done: make(chan struct{})}
	close(d.done)
	base := startServer(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := get(t, ctx, base+"/containerLogs/default/web/app?follow=true", testToken)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "last words\n" {
		t.Errorf("body %q", body)
	}
}

func TestCertKept(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := ensureCert(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ensureCert(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Certificate[0]) != string(b.Certificate[0]) {
		t.Error("certificate regenerated although still valid")
	}
	c, err := ensureCert(dir, now.Add(certValidity))
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Certificate[0]) == string(c.Certificate[0]) {
		t.Error("expiring certificate kept")
	}
}
