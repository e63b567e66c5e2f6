package apiserver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testetcd"
)

func TestShareCredentialsGivesEveryServerTheSameCAAndTokens(t *testing.T) {
	etcd := testetcd.StartEmbedded(t)
	ctx := context.Background()
	var dirs []string
	for range 3 {
		dir := t.TempDir()
		if err := ShareCredentials(ctx, Options{DataDir: dir, EtcdEndpoints: etcd.Endpoints()}); err != nil {
			t.Fatalf("ShareCredentials: %v", err)
		}
		dirs = append(dirs, dir)
	}
	for _, f := range []string{"ca.crt", "ca.key", "tokens.csv"} {
		first, err := os.ReadFile(filepath.Join(dirs[0], "tls", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range dirs[1:] {
			got, err := os.ReadFile(filepath.Join(dir, "tls", f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, first) {
				t.Errorf("%s differs between servers", f)
			}
		}
	}
}
