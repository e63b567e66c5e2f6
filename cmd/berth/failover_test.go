package main

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
)

// TestAgentConfigFailsOverBetweenServers: --server with two URLs gives a
// client that goes on working when the first server goes away.
func TestAgentConfigFailsOverBetweenServers(t *testing.T) {
	var servers []*httptest.Server
	for _, name := range []string{"a", "b"} {
		s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"` + name + `"}`))
		}))
		t.Cleanup(s.Close)
		servers = append(servers, s)
	}
	dir := t.TempDir()
	caFile, tokenFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "token")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servers[0].Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := agentRESTConfig(agentFlags{server: servers[0].URL + ", " + servers[1].URL, tokenFile: tokenFile, caFile: caFile})
	if err != nil {
		t.Fatalf("agentRESTConfig: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a", "b"} {
		if i == 1 {
			servers[0].Close()
		}
		v, err := client.Discovery().ServerVersion()
		if err != nil || v.GitVersion != want {
			t.Fatalf("version %d: %v, %v; want %s", i, v, err, want)
		}
	}
}

func TestSplitServers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"https://a:1", "https://a:1"},
		{" https://a:1 , ,https://b:2,", "https://a:1|https://b:2"},
	} {
		if got := strings.Join(splitServers(tc.in), "|"); got != tc.want {
			t.Errorf("splitServers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
