package testcontainerd

import (
	"context"
	"os"
	"testing"
)

func TestStartServesAndCleansUp(t *testing.T) {
	var d *Daemon
	t.Run("start", func(t *testing.T) {
		d = Start(t)
		ctx := context.Background()
		v, err := d.Client().Version(ctx)
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		if v.Version == "" {
			t.Errorf("daemon reports no version")
		}
		plugins, err := d.Client().IntrospectionService().Plugins(ctx, nil)
		if err != nil {
			t.Fatalf("plugins: %v", err)
		}
		for _, p := range plugins.Plugins {
			if p.Type+"."+p.ID == "io.containerd.grpc.v1.cri" && p.InitErr == nil {
				t.Errorf("the CRI plugin is loaded; want it disabled")
			}
		}
	})
	if d == nil || t.Failed() {
		return
	}
	if _, err := os.Stat(d.sock); !os.IsNotExist(err) {
		t.Errorf("socket directory %s still there after the test: %v", d.sock, err)
	}
}

func TestCleanupAfterStop(t *testing.T) {
	var sock string
	t.Run("stopped", func(t *testing.T) {
		d := Start(t)
		sock = d.sock
		d.Stop()
		d.Restart()
		if _, err := d.Client().Version(context.Background()); err != nil {
			t.Fatalf("after Restart: %v", err)
		}
		d.Stop() // the test ends with the daemon down: cleanup copes
	})
	if _, err := os.Stat(sock); sock != "" && !os.IsNotExist(err) {
		t.Errorf("socket directory %s still there: %v", sock, err)
	}
}
