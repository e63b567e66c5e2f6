package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/kubelet/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestProbeExec(t *testing.T) {
	exec := func(code int, out string, err error) func(context.Context, []string, time.Duration) (int, []byte, error) {
		return func(ctx context.Context, cmd []string, timeout time.Duration) (int, []byte, error) {
			if timeout != 2*time.Second {
				return 0, nil, errors.New("timeout not passed")
			}
			if _, ok := ctx.Deadline(); !ok {
				return 0, nil, errors.New("no deadline")
			}
			return code, []byte(out), err
		}
	}
	tests := []struct {
		name    string
		exec    func(context.Context, []string, time.Duration) (int, []byte, error)
		want    Result
		wantOut string
	}{
		{"exit 0", exec(0, "ok\n", nil), Success, "ok\n"},
		{"exit 1", exec(1, "bad\n", nil), Failure, "bad\n"},
		{"timed out", exec(-1, "", context.DeadlineExceeded), Failure, `command "cat /tmp/healthy" timed out`},
		{"runtime timeout", exec(0, "", fmt.Errorf("exec: %w after 2s", runtime.ErrExecTimeout)), Failure, `command "cat /tmp/healthy" timed out`},
		{"not running", exec(0, "", fmt.Errorf("exec: %w", runtime.ErrNotRunning)), Unknown, `exec "cat /tmp/healthy": exec: container not running`},
		{"could not run", exec(-1, "", errors.New("no such container")), Unknown, `exec "cat /tmp/healthy": no such container`},
		{"no exec", nil, Unknown, "exec probes are not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Probe{TimeoutSeconds: 2, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}}}
			got, out := Probe(context.Background(), p, &corev1.Container{}, Target{Exec: tt.exec})
			if got != tt.want || out != tt.wantOut {
				t.Errorf("Probe = %v %q, want %v %q", got, out, tt.want, tt.wantOut)
			}
		})
	}
}

// hostPort splits a test server's URL into its IP and port.
func hostPort(t *testing.T, rawURL string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return host, n
}

func TestProbeHTTP(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("fine")) })
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Check") != "yes" || r.Host != "example.test" || r.Header.Get("User-Agent") != "custom" || r.Header.Get("Accept") != "*/*" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(r.Host + " " + r.Header.Get("User-Agent")))
			return
		}
		_, _ = w.Write([]byte("headers ok"))
	})
	mux.HandleFunc("/agent", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != UserAgent {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/redirect-local", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/missing", http.StatusFound) })
	mux.HandleFunc("/redirect-away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/x", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tlsSrv := httptest.NewTLSServer(mux)
	t.Cleanup(tlsSrv.Close)
	ip, port := hostPort(t, srv.URL)
	_, tlsPort := hostPort(t, tlsSrv.URL)
	closed := closedPort(t)

	c := &corev1.Container{Name: "web", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	get := func(path string, port intstr.IntOrString) *corev1.HTTPGetAction {
		return &corev1.HTTPGetAction{Path: path, Port: port}
	}
	tests := []struct {
		name    string
		action  *corev1.HTTPGetAction
		want    Result
		wantOut string // prefix
	}{
		{"200", get("/ok", intstr.FromInt32(int32(port))), Success, "fine"},
		{"named port", get("/ok", intstr.FromString("http")), Success, "fine"},
		{"path without slash", get("ok", intstr.FromInt32(int32(port))), Success, "fine"},
		{"default user agent", get("/agent", intstr.FromInt32(int32(port))), Success, ""},
		{"headers and Host", &corev1.HTTPGetAction{Path: "/headers", Port: intstr.FromInt32(int32(port)), HTTPHeaders: []corev1.HTTPHeader{
			{Name: "X-Check", Value: "yes"}, {Name: "Host", Value: "example.test"}, {Name: "user-agent", Value: "custom"}}}, Success, "headers ok"},
		{"404", get("/missing", intstr.FromInt32(int32(port))), Failure, "HTTP probe failed with statuscode: 404"},
		{"500", get("/error", intstr.FromInt32(int32(port))), Failure, "HTTP probe failed with statuscode: 500"},
		{"local redirect followed", get("/redirect-local", intstr.FromInt32(int32(port))), Failure, "HTTP probe failed with statuscode: 404"},
		{"redirect elsewhere succeeds", get("/redirect-away", intstr.FromInt32(int32(port))), Success, "Probe terminated redirects"},
		{"timeout", get("/slow", intstr.FromInt32(int32(port))), Failure, "Get \"http://"},
		{"refused", get("/ok", intstr.FromInt32(int32(closed))), Failure, "Get \"http://"},
		{"https unverified", &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Path: "/ok", Port: intstr.FromInt32(int32(tlsPort))}, Success, "fine"},
		{"unknown port name", get("/ok", intstr.FromString("metrics")), Unknown, `couldn't find port: metrics in container "web"`},
		{"port out of range", get("/ok", intstr.FromInt32(70000)), Unknown, "invalid port number: 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: tt.action}}
			got, out := Probe(context.Background(), p, c, Target{PodIP: ip})
			if got != tt.want || !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("Probe = %v %q, want %v %q...", got, out, tt.want, tt.wantOut)
			}
		})
	}
}

// closedPort returns a local TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

func TestProbeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	open := l.Addr().(*net.TCPAddr).Port
	closed := closedPort(t)
	tcp := func(port int) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
	}
	if got, out := Probe(context.Background(), tcp(open), nil, Target{PodIP: "127.0.0.1"}); got != Success {
		t.Errorf("open port: %v %q", got, out)
	}
	if got, out := Probe(context.Background(), tcp(closed), nil, Target{PodIP: "127.0.0.1"}); got != Failure || !strings.Contains(out, "connection refused") {
		t.Errorf("closed port: %v %q", got, out)
	}

	// Dial replaces the dialer: here it sends every connection to the listener.
	var dialed string
	target := Target{PodIP: "10.99.0.7", Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = addr
		var d net.Dialer
		return d.DialContext(ctx, network, l.Addr().String())
	}}
	if got, out := Probe(context.Background(), tcp(8080), nil, target); got != Success || dialed != "10.99.0.7:8080" {
		t.Errorf("custom dial: %v %q dialed %q", got, out, dialed)
	}
	hp := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.99.0.8", Port: intstr.FromInt32(81)}}}
	Probe(context.Background(), hp, nil, target)
	if dialed != "10.99.0.8:81" {
		t.Errorf("httpGet dialed %q, want 10.99.0.8:81", dialed)
	}
}

func TestProbeOther(t *testing.T) {
	grpc := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
	if got, _ := Probe(context.Background(), grpc, nil, Target{}); got != Failure {
		t.Errorf("grpc = %v, want Failure", got)
	}
	if got, _ := Probe(context.Background(), &corev1.Probe{}, nil, Target{}); got != Unknown {
		t.Errorf("empty probe = %v, want Unknown", got)
	}
	if got, _ := Probe(context.Background(), nil, nil, Target{}); got != Unknown {
		t.Errorf("nil probe = %v, want Unknown", got)
	}
}
