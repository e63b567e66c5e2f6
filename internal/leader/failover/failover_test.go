package failover

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiStub is an HTTPS server that answers /version and echoes POST bodies,
// counting the requests it served.
type apiStub struct {
	*httptest.Server
	name string
	hits atomic.Int32
}

func newAPIStub(t *testing.T, name string) *apiStub {
	s := &apiStub{name: name}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s:%s", name, b)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"major":"1","minor":"34","gitVersion":%q}`, name)
	}))
	t.Cleanup(s.Close)
	return s
}

// stubConfig is a client config for stubs, trusting their certificate
// (httptest servers all share one).
func stubConfig(t *testing.T, servers ...*apiStub) *rest.Config {
	t.Helper()
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.URL
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servers[0].Certificate().Raw})
	cfg, err := Config(&rest.Config{Host: urls[0], BearerToken: "secret", TLSClientConfig: rest.TLSClientConfig{CAData: cert}}, urls)
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	return cfg
}

func serverVersion(t *testing.T, cfg *rest.Config) (string, error) {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Discovery().ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

func TestFailoverGoesToNextServerAndStays(t *testing.T) {
	a, b := newAPIStub(t, "a"), newAPIStub(t, "b")
	cfg := stubConfig(t, a, b)
	if got, err := serverVersion(t, cfg); err != nil || got != "a" {
		t.Fatalf("with both up: %q, %v; want a", got, err)
	}
	a.Close() // refuses connections from now on
	for i := range 3 {
		if got, err := serverVersion(t, cfg); err != nil || got != "b" {
			t.Fatalf("request %d with a down: %q, %v; want b", i, got, err)
		}
	}
	b.Close()
	if _, err := serverVersion(t, cfg); err == nil {
		t.Fatal("with both down: no error")
	}
}

func TestFailoverSticksToTheServerThatWorked(t *testing.T) {
	// a is down from the start; once b answered, requests go straight to b.
	a, b := newAPIStub(t, "a"), newAPIStub(t, "b")
	cfg := stubConfig(t, a, b)
	a.Close()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt}
	for range 3 {
		resp, err := client.Get(a.URL + "/version")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := b.hits.Load(); got != 3 {
		t.Errorf("b served %d requests, want 3", got)
	}
}

func TestFailoverReplaysTheBody(t *testing.T) {
	a, b := newAPIStub(t, "a"), newAPIStub(t, "b")
	cfg := stubConfig(t, a, b)
	a.Close()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt}).Post(a.URL+"/x", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if string(got) != "b:hello" {
		t.Errorf("answer %q, want b:hello", got)
	}
}

func TestFailoverOneServerIsUnchanged(t *testing.T) {
	a := newAPIStub(t, "a")
	cfg := stubConfig(t, a)
	if cfg.WrapTransport != nil || cfg.Host != a.URL {
		t.Errorf("one server: config changed (host %q)", cfg.Host)
	}
}

func TestFailoverRejectsBadServers(t *testing.T) {
	for _, s := range []string{"http://a:1,https://b:2", "https://a:1,b:2", "https://a:1,https://b:2/path"} {
		if _, err := Config(&rest.Config{}, strings.Split(s, ",")); err == nil {
			t.Errorf("Config(%q): no error", s)
		}
	}
}

func TestUnreachable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	read := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name   string
		err    error
		method string
		want   bool
	}{
		{"refused", dial, http.MethodPost, true},
		{"dial timeout", &net.OpError{Op: "dial", Err: context.DeadlineExceeded}, http.MethodPut, true},
		{"reset on GET", read, http.MethodGet, true},
		{"reset on POST", read, http.MethodPost, false},
		{"EOF on GET", io.EOF, http.MethodGet, true},
		{"EOF on PATCH", io.EOF, http.MethodPatch, false},
		{"other", errors.New("x509: certificate signed by unknown authority"), http.MethodGet, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreachable(tc.err, tc.method); got != tc.want {
				t.Errorf("unreachable(%v, %s) = %v, want %v", tc.err, tc.method, got, tc.want)
			}
		})
	}
}
