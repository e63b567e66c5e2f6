package auth

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(filepath.Join(dir, "tls"), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfigs", "admin.kubeconfig")
	const server, token = "https://127.0.0.1:6443", "0123abcd"
	if err := WriteKubeconfig(path, server, p.CACertPEM, "berth-admin", token); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("kubeconfig mode %v, want 0600", got)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != server {
		t.Errorf("Host = %q, want %q", cfg.Host, server)
	}
	if cfg.BearerToken != token {
		t.Error("BearerToken is not the token written")
	}
	if !bytes.Equal(cfg.CAData, p.CACertPEM) {
		t.Error("CAData is not the CA written")
	}

	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw.CurrentContext != "berth" {
		t.Errorf("current-context %q, want berth", raw.CurrentContext)
	}
	if ctx := raw.Contexts["berth"]; ctx == nil || ctx.Cluster != "berth" || ctx.AuthInfo != "berth-admin" {
		t.Errorf("context berth = %+v, want cluster berth and user berth-admin", ctx)
	}
}

func TestWriteKubeconfigRejectsMissingServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := WriteKubeconfig(path, "", nil, "berth-admin", "t"); err == nil {
		t.Error("WriteKubeconfig accepted an empty server")
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("invalid kubeconfig was written")
	}
}

// TestKubeconfigReachesServer talks to a server using this package's PKI and tokens
// through a written kubeconfig, first with client-go and then with kubectl if it is
// installed.
func TestKubeconfigReachesServer(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(filepath.Join(dir, "tls"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := EnsureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := tokens.AuthenticateRequest(r)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if !AuthorizeNonResource(u, r.URL.Path) {
			http.Error(w, ForbiddenPathMessage(u, strings.ToLower(r.Method), r.URL.Path), http.StatusForbidden)
			return
		}
		w.Write([]byte("ok " + u.Name))
	}))
	srv.EnableHTTP2 = true
	srv.TLS = p.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	path := filepath.Join(dir, "readonly.kubeconfig")
	err = WriteKubeconfig(path, "https://localhost:"+port, p.CACertPEM, "berth-readonly", tokens.Token(RoleReadonly))
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(cfg.Host + "/healthz")
	if err != nil {
		t.Fatalf("client-go GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(body), "ok berth-readonly"; got != want {
		t.Errorf("client-go GET /healthz = %q, want %q", got, want)
	}

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	cmd := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", path, "get", "--raw", "/healthz")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // keep kubectl's cache out of the real home
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get --raw /healthz: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "ok berth-readonly"; got != want {
		t.Errorf("kubectl get --raw /healthz = %q, want %q", got, want)
	}
	cmd = exec.CommandContext(t.Context(), kubectl, "--kubeconfig", path, "get", "--raw", "/metrics")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Forbidden") {
		t.Errorf("kubectl get --raw /metrics: err = %v, want Forbidden; output:\n%s", err, out)
	}
}
