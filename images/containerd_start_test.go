package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd"
	"golang.org/x/sys/unix"
)

// privateContainerd is a containerd daemon started by a test, with its own
// root, state, socket, runc root and FIFO directory, none of them shared
// with a containerd the machine may run. (internal/testcontainerd is
// becoming the shared helper for this; images keeps its own small one.)
type privateContainerd struct {
	dir      string // everything of this daemon lives below
	addr     string // its gRPC socket
	runcRoot string // pass as the runc runtime's Root option
	fifoDir  string // pass to cio.WithFIFODir
	logPath  string // its stdout and stderr
	client   *containerd.Client
}

// needBinaries skips the test (or fails it under CI=true) unless every
// program in bins is on PATH.
func needBinaries(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (CI=true, so not skipping): apt-get install containerd runc", b)
			}
			t.Skipf("%s not installed: apt-get install containerd runc", b)
		}
	}
}

// startContainerd starts a private containerd (the one on PATH) and returns
// it with a connected client. Cleanup closes the client, stops the daemon
// and unmounts anything it left mounted below its directory; the test must
// have removed its own tasks and containers before (a cleanup registered
// later runs earlier).
func startContainerd(t *testing.T) *privateContainerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a private containerd")
	}
	needBinaries(t, "containerd", "containerd-shim-runc-v2", "runc")

	dir := t.TempDir()
	// A unix socket path has room for 107 bytes; t.TempDir() under a long
	// test name may not leave enough for "/c.sock.ttrpc".
	if len(dir) > 80 {
		short, err := os.MkdirTemp("", "bctd-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		dir = short
	}
	cd := &privateContainerd{
		dir:      dir,
		addr:     filepath.Join(dir, "c.sock"),
		runcRoot: filepath.Join(dir, "runc"),
		fifoDir:  filepath.Join(dir, "fifo"),
		logPath:  filepath.Join(dir, "containerd.log"),
	}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), cd.addr, cd.addr+".ttrpc", filepath.Join(dir, "opt"))
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(cd.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command("containerd", "--config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the test binary die, take the daemon with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { cd.stop(t, cmd, exited) })

	// Wait for the socket to serve: bounded so that a broken daemon fails
	// the test instead of hanging it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("containerd exited at start:\n%s", cd.logTail())
		default:
		}
		client, err := containerd.New(cd.addr, containerd.WithTimeout(time.Second))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = client.Version(ctx)
			cancel()
			if err == nil {
				cd.client = client
				return cd
			}
			client.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd at %s did not answer: %v\n%s", cd.addr, err, cd.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop closes the client, ends the daemon (SIGTERM, then SIGKILL) and
// unmounts whatever is still mounted below cd.dir, so that the directory
// can be removed. A leftover mount is reported: the test leaked something.
func (cd *privateContainerd) stop(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	if cd.client != nil {
		cd.client.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	for _, m := range mountsBelow(t, cd.dir) {
		t.Errorf("left mounted after the test: %s", m)
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
	if t.Failed() {
		t.Logf("containerd log:\n%s", cd.logTail())
	}
}

// mountsBelow lists the mount points at or below dir, deepest first.
func mountsBelow(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mounts: %v", err)
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append([]string{mp}, out...)
		}
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// logTail is the end of the daemon's log, for failure messages.
func (cd *privateContainerd) logTail() string {
	data, err := os.ReadFile(cd.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}
