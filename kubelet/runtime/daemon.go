package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
)

// maxSocketPath is the longest unix socket path the kernel accepts
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// daemonStartTimeout bounds how long StartDaemon waits for containerd to
// answer on its socket.
const daemonStartTimeout = 30 * time.Second

// daemonStopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const daemonStopTimeout = 10 * time.Second

// DaemonOptions configures StartDaemon.
type DaemonOptions struct {
	// Dir holds the daemon's config.toml, root (images, snapshots, metadata),
	// state and log. Required; created if missing.
	Dir string
	// Address is the unix socket containerd listens on. Default
	// Dir/containerd.sock, which must then be at most 107 bytes long.
	Address string
	// Binary is the containerd executable. Default: "containerd" on PATH.
	Binary string
	// Logger receives start and stop messages. Default: slog.Default().
	Logger *slog.Logger
}

// Daemon is a containerd process started by StartDaemon.
type Daemon struct {
	address string
	dir     string
	logPath string
	log     *slog.Logger
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // why it exited; set before done is closed
}

// Address returns the unix socket the daemon serves its gRPC API on.
func (d *Daemon) Address() string { return d.address }

// Dir returns the directory holding the daemon's config, root and state.
func (d *Daemon) Dir() string { return d.dir }

// Root returns the daemon's root directory (content, snapshots, metadata).
func (d *Daemon) Root() string { return filepath.Join(d.dir, "root") }

// RuncRoot returns a directory for runc's state private to this daemon, for
// Options.RuncRoot.
func (d *Daemon) RuncRoot() string { return filepath.Join(d.dir, "state", "runc") }

// LogPath returns the file containerd's own output goes to.
func (d *Daemon) LogPath() string { return d.logPath }

// Pid returns the daemon's process ID.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Done returns a channel closed when the daemon process has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// CheckBinaries reports, as one error naming the Debian packages to install,
// which of containerd, its runc shim and runc are missing from PATH.
func CheckBinaries() error {
	var missing []string
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found on PATH: apt-get install containerd runc", strings.Join(missing, ", "))
	}
	return nil
}

// StartDaemon starts containerd as a child process with its own config,
// root, state and socket under opts.Dir, and returns once it answers on its
// socket. The CRI plugin is disabled; the default snapshotter is overlayfs.
//
// The child gets SIGKILL if this process dies without calling Stop. Its
// shims, and so the containers they run, outlive it: a containerd started
// again on the same Dir finds them again.
func StartDaemon(ctx context.Context, opts DaemonOptions) (*Daemon, error) {
	if opts.Dir == "" {
		return nil, errors.New("start containerd: no directory given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	if opts.Address == "" {
		opts.Address = filepath.Join(dir, "containerd.sock")
	}
	if len(opts.Address) > maxSocketPath {
		return nil, fmt.Errorf("start containerd: socket path %s is %d bytes, longer than the %d a unix socket allows; choose a shorter directory or address",
			opts.Address, len(opts.Address), maxSocketPath)
	}
	if opts.Binary == "" {
		if err := CheckBinaries(); err != nil {
			return nil, fmt.Errorf("start containerd: %w", err)
		}
		opts.Binary, _ = exec.LookPath("containerd")
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Address), 0o711); err != nil {
		return nil, fmt.Errorf("start containerd: socket directory: %w", err)
	}
	// A socket left by a daemon that was killed would make the new one fail.
	if err := os.Remove(opts.Address); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("start containerd: remove stale socket: %w", err)
	}
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(daemonConfig(dir, opts.Address)), 0o644); err != nil {
		return nil, fmt.Errorf("start containerd: write config: %w", err)
	}

	d := &Daemon{
		address: opts.Address,
		dir:     dir,
		logPath: filepath.Join(dir, "containerd.log"),
		log:     opts.Logger,
		done:    make(chan struct{}),
	}
	logFile, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start containerd: log file: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	d.cmd = exec.Command(opts.Binary, "--config", configPath)
	d.cmd.Stdout = logFile
	d.cmd.Stderr = logFile
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.spawn(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	if err := d.waitServing(ctx); err != nil {
		d.Stop()
		return nil, fmt.Errorf("start containerd (log: %s): %w", d.logPath, err)
	}
	d.log.Info("containerd started", "pid", d.cmd.Process.Pid, "address", d.address, "dir", dir)
	return d, nil
}

// spawn starts the process from an OS thread reserved for it until it exits.
// The kernel sends the parent-death signal when the thread that forked the
// child ends, not the process; Go may end threads (a goroutine that exits
// while locked to one ends it), so the forking thread must outlive the child.
func (d *Daemon) spawn() error {
	started := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// Never unlocked: this thread ends with the goroutine, after the child.
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	return <-started
}

// waitServing polls the socket until containerd answers, the process exits,
// ctx ends or daemonStartTimeout passes.
func (d *Daemon) waitServing(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, daemonStartTimeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-d.done:
			return fmt.Errorf("containerd exited while starting: %v", d.err)
		case <-ctx.Done():
			return fmt.Errorf("containerd not serving on %s: %w (last error: %v)", d.address, ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(d.address); err != nil {
			lastErr = err
			continue
		}
		lastErr = ping(ctx, d.address)
		if lastErr == nil {
			return nil
		}
	}
}

// ping asks the daemon at address whether it serves.
func ping(ctx context.Context, address string) error {
	client, err := containerd.New(address, containerd.WithTimeout(time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ok, err := client.IsServing(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("not serving yet")
	}
	return nil
}

// Stop stops the daemon: SIGTERM, then SIGKILL if it has not exited after
// ten seconds. It returns once the process has exited. Containers keep
// running under their shims.
func (d *Daemon) Stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(daemonStopTimeout):
		d.log.Warn("containerd did not stop after SIGTERM, killing it", "pid", d.cmd.Process.Pid)
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.log.Info("containerd stopped", "pid", d.cmd.Process.Pid)
}

// daemonConfig is a containerd 1.6/1.7 config (version 2) keeping every
// path under dir.
func daemonConfig(dir, address string) string {
	q := strconv.Quote
	return fmt.Sprintf(`version = 2
root = %s
state = %s
# The CRI plugin would manage containers of its own; berth is the kubelet.
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = %s

[plugins."io.containerd.internal.v1.opt"]
  path = %s
`, q(filepath.Join(dir, "root")), q(filepath.Join(dir, "state")), q(address), q(filepath.Join(dir, "opt")))
}
