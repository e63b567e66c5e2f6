package main

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/apiserver/auth"
)

// writeKubeconfig writes a kubeconfig for server with token into dir.
func writeKubeconfig(t *testing.T, dir, server, token string) string {
	t.Helper()
	path := filepath.Join(dir, "config")
	if err := auth.WriteKubeconfig(path, server, []byte("not a CA"), "berth-readonly", token); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadonlyConfig(t *testing.T) {
	flagFile := writeKubeconfig(t, t.TempDir(), "https://flag.example:6443", "flag-token")
	envFile := writeKubeconfig(t, t.TempDir(), "https://env.example:6443", "env-token")
	defaultFile := writeKubeconfig(t, t.TempDir(), "https://default.example:6443", "default-token")
	missing := filepath.Join(t.TempDir(), "readonly.kubeconfig")
	for _, tc := range []struct {
		name, flag, env, def string
		wantHost, wantErr    string
	}{
		{"flag wins", flagFile, envFile, defaultFile, "https://flag.example:6443", ""},
		{"then $KUBECONFIG", "", envFile, defaultFile, "https://env.example:6443", ""},
		{"then the data dir's readonly kubeconfig", "", "", defaultFile, "https://default.example:6443", ""},
		{"none", "", "", missing, "", "no kubeconfig: pass --kubeconfig or set $KUBECONFIG (the readonly kubeconfig " + missing},
		{"flag names a missing file", missing, "", defaultFile, "", "load kubeconfig " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(clientcmd.RecommendedConfigPathEnvVar, tc.env)
			old := defaultReadonlyKubeconfig
			defaultReadonlyKubeconfig = tc.def
			t.Cleanup(func() { defaultReadonlyKubeconfig = old })
			cfg, err := readonlyConfig(tc.flag)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error beginning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tc.wantHost || !strings.HasSuffix(cfg.BearerToken, "-token") {
				t.Errorf("host %q token %q, want host %q", cfg.Host, cfg.BearerToken, tc.wantHost)
			}
			ns, err := defaultNamespace(tc.flag)
			if err != nil || ns != "default" {
				t.Errorf("namespace %q, %v; want default", ns, err)
			}
		})
	}
}
