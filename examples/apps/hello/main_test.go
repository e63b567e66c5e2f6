package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestGreetingFromEnv(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatalf("hostname: %v", err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "everything set",
			env:  map[string]string{"POD_NAME": "hello-7d9f-abcde", "VERSION": "v2", "MESSAGE": "Hello from berth"},
			want: "hello from hello-7d9f-abcde (v2): Hello from berth",
		},
		{
			name: "no message",
			env:  map[string]string{"POD_NAME": "p", "VERSION": "v1"},
			want: "hello from p (v1)",
		},
		{
			name: "version linked in",
			env:  map[string]string{"POD_NAME": "p", "MESSAGE": "m"},
			want: "hello from p (" + version + "): m",
		},
		{
			name: "no pod name: the host name",
			env:  map[string]string{"VERSION": "v1"},
			want: "hello from " + host + " (v1)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := greetingFromEnv(func(k string) string { return tt.env[k] }).String()
			if got != tt.want {
				t.Errorf("greeting = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	g := greeting{pod: "hello-0", version: "v1", message: "hi there"}
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string // checked when not empty
	}{
		{"GET", "/", http.StatusOK, "hello from hello-0 (v1): hi there\n"},
		{"GET", "/healthz", http.StatusOK, "ok\n"},
		{"HEAD", "/healthz", http.StatusOK, ""},
		{"GET", "/nope", http.StatusNotFound, ""},
		{"POST", "/", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var logBuf bytes.Buffer
			h := newHandler(g, log.New(&logBuf, "", 0))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
			wantLog := tt.method + " " + tt.path + " " + strconv.Itoa(tt.wantStatus)
			if !strings.Contains(logBuf.String(), wantLog) {
				t.Errorf("log = %q, want a line with %q", logBuf.String(), wantLog)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that the server goroutines and the test may
// use at once.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunServesAndStopsOnSIGTERM runs the server on a loopback port, asks
// it for /, then delivers SIGTERM and expects a clean exit.
func TestRunServesAndStopsOnSIGTERM(t *testing.T) {
	env := map[string]string{"PORT": "0", "POD_NAME": "pod-a", "VERSION": "v9", "MESSAGE": "from the test"}
	getenv := func(k string) string { return env[k] }
	var out syncBuffer
	signals := make(chan os.Signal, 1)
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(getenv, &out, signals, func(a net.Addr) { addrs <- a }) }()

	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	}
	port := addr.(*net.TCPAddr).Port
	resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/")
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read GET / body: %v", err)
	}
	if want := "hello from pod-a (v9): from the test\n"; string(body) != want {
		t.Errorf("GET / = %q, want %q", body, want)
	}

	signals <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	for _, want := range []string{"listening on", "GET / 200", "received SIGTERM", "stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunBadPort(t *testing.T) {
	getenv := func(k string) string {
		if k == "PORT" {
			return "not-a-port"
		}
		return ""
	}
	err := run(getenv, io.Discard, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "listen on port not-a-port") {
		t.Fatalf("run with PORT=not-a-port: err = %v, want a listen error naming the port", err)
	}
}
