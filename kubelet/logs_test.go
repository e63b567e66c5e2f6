package kubelet

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/kubelet/server"
)

func TestLogPath(t *testing.T) {
	pod := workerPod()
	pod.Spec.Containers = pod.Spec.Containers[:1]
	h := newWorkerHarness(t, pod, "app:v1")
	h.k.opts.LogContainers = true
	if err := h.indexer.Add(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := h.k.LogPath("default", "p", "app", false); err == nil || errors.Is(err, server.ErrNotFound) {
		t.Errorf("before the container starts: %v, want a 400 error", err)
	}
	h.sync("p")
	got, err := h.k.LogPath("default", "p", "app", false)
	if err != nil || got != filepath.Join(h.k.podsDir, string(pod.UID), "logs", "app", "0.log") {
		t.Errorf("LogPath = %q, %v", got, err)
	}
	if _, err := h.k.LogPath("default", "p", "app", true); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("previous of a first attempt: %v, want not found", err)
	}
	h.rt.exit(string(pod.UID)+"-app-0", 1)
	h.now = h.now.Add(11 * time.Second) // past the first crash-loop backoff, 10s
	h.sync("p")
	if got, err := h.k.LogPath("default", "p", "app", true); err != nil || filepath.Base(got) != "0.log" {
		t.Errorf("previous after a restart: %q, %v", got, err)
	}
	if _, err := h.k.LogPath("default", "nope", "app", false); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("unknown pod: %v", err)
	}
}
