package testcontainerd

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd"

	"github.com/berth-dev/berth/kubelet/runtime"

	"github.com/berth-dev/berth/internal/mounts"
)

// Namespace is the containerd namespace Client uses by default, the one the
// kubelet's runtime uses.
const Namespace = "berth"

// logTailLines is how much of containerd's log a failed test shows.
const logTailLines = 40

// Daemon is a private containerd started by Start.
type Daemon struct {
	// Address is the daemon's unix socket.
	Address string
	// Dir holds its config.toml, root, state and log.
	Dir string

	t      testing.TB
	d      *runtime.Daemon
	sock   string // the directory of the socket, under /tmp
	mu     sync.Mutex
	client *containerd.Client // guarded by mu; created by Client
}

// Start starts a private containerd for the test and returns once it serves.
// t.Cleanup stops it and removes everything it left. The test is skipped when
// not run as root, and when containerd or runc is missing (failed instead
// with CI=true).
func Start(t testing.TB) *Daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containerd tests need root") // even with CI=true: CI runs them as root
	}
	if err := runtime.CheckBinaries(); err != nil {
		skipOrFail(t, err.Error())
	}

	dir := t.TempDir() // before Cleanup, so that it is removed after it
	sock, err := os.MkdirTemp("/tmp", "ctd")
	if err != nil {
		t.Fatalf("testcontainerd: socket directory: %v", err)
	}
	d := &Daemon{Dir: dir, Address: filepath.Join(sock, "c.sock"), t: t, sock: sock}
	t.Cleanup(d.cleanup)

	d.start()
	return d
}

// start starts the daemon process.
func (d *Daemon) start() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	d.d, err = runtime.StartDaemon(ctx, runtime.DaemonOptions{
		Dir:     d.Dir,
		Address: d.Address,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		d.t.Fatalf("testcontainerd: %v", err)
	}
}

// Stop stops the daemon (SIGTERM, then SIGKILL), as an agent that exits
// does; containers keep running under their shims. Clients from Client are
// closed. Restart starts it again; if the test ends first, cleanup does.
func (d *Daemon) Stop() {
	d.mu.Lock()
	if d.client != nil {
		_ = d.client.Close()
		d.client = nil
	}
	d.mu.Unlock()
	d.d.Stop()
}

// Restart stops the daemon if it runs and starts it again on the same
// directories and socket, as an agent that restarts its containerd does.
// Call Client again for a client.
func (d *Daemon) Restart() {
	d.t.Helper()
	d.Stop()
	d.start()
}

// running says whether the daemon process is up.
func (d *Daemon) running() bool {
	select {
	case <-d.d.Done():
		return false
	default:
		return true
	}
}

// skipOrFail skips the test, or fails it when CI=true: CI machines have
// everything installed.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so not skipping)", why)
	}
	t.Skip(why)
}

// Root returns the daemon's root directory (content, snapshots, metadata).
func (d *Daemon) Root() string { return filepath.Join(d.Dir, "root") }

// RuncRoot returns a directory for runc's state private to this daemon, to
// give the runtime (runtime.Options.RuncRoot): tests running at once on
// other daemons may use the same container IDs.
func (d *Daemon) RuncRoot() string { return d.d.RuncRoot() }

// Client returns a client of the daemon whose default namespace is
// Namespace. It is created on first use and closed when the test ends.
func (d *Daemon) Client() *containerd.Client {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		c, err := containerd.New(d.Address, containerd.WithDefaultNamespace(Namespace))
		if err != nil {
			d.t.Fatalf("testcontainerd: client: %v", err)
		}
		d.client = c
	}
	return d.client
}

// cleanup kills every task, stops the daemon, kills shims that outlive it,
// unmounts what is left under its directories and removes the socket
// directory.
func (d *Daemon) cleanup() {
	if d.d != nil {
		if !d.running() {
			d.start() // to clean up what runs under it
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := runtime.KillAllTasks(ctx, d.Address)
		cancel()
		if err != nil {
			d.t.Logf("testcontainerd: killing tasks: %v", err)
		}
		d.d.Stop()
		if pids := killShims(d.Address); len(pids) > 0 {
			d.t.Logf("testcontainerd: killed shims %v that outlived the daemon", pids)
		}
		if d.t.Failed() {
			d.logTail()
		}
	}
	d.mu.Lock()
	if d.client != nil {
		_ = d.client.Close()
		d.client = nil
	}
	d.mu.Unlock()
	for _, dir := range []string{d.Dir, d.sock} {
		if err := mounts.UnmountUnder(dir); err != nil {
			d.t.Errorf("testcontainerd: %v", err)
		}
	}
	if err := os.RemoveAll(d.sock); err != nil {
		d.t.Errorf("testcontainerd: remove %s: %v", d.sock, err)
	}
}

// logTail writes the last lines of containerd's log to the test log.
func (d *Daemon) logTail() {
	f, err := os.Open(d.d.LogPath())
	if err != nil {
		d.t.Logf("testcontainerd: %v", err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > logTailLines {
			lines = lines[1:]
		}
	}
	d.t.Logf("testcontainerd: last lines of %s:\n%s", d.d.LogPath(), strings.Join(lines, "\n"))
}
