package network_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
	"golang.org/x/sys/unix"
)

// dialTimeout bounds one connection attempt of a test; it is no timing
// assertion, only a guard against a hang when traffic is dropped.
const dialTimeout = 10 * time.Second

// requireCNI skips the test unless it runs as root with ip, iptables and
// the CNI plugins installed; with CI=true a missing program fails it.
func requireCNI(t *testing.T) {
	t.Helper()
	netnstest.Require(t)
	missing := func(what, install string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: %s (CI=true, so not skipping)", what, install)
		}
		t.Skipf("%s not found: %s", what, install)
	}
	for _, p := range []string{"bridge", "host-local", "portmap", "loopback"} {
		found := false
		for _, dir := range network.DefaultPluginDirs {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				found = true
			}
		}
		if !found {
			missing("CNI plugin "+p, "apt-get install containernetworking-plugins")
		}
	}
	for _, bin := range []string{"iptables", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing(bin, "apt-get install iptables")
		}
	}
}

// pinPod pins namespaces for a pod under dir and removes them when the
// test ends.
func pinPod(t *testing.T, dir, uid, hostname string) network.Namespaces {
	t.Helper()
	ns, err := network.PinNamespaces(dir, uid, hostname)
	if err != nil {
		t.Fatalf("PinNamespaces(%s): %v", uid, err)
	}
	t.Cleanup(func() {
		if err := ns.Remove(); err != nil {
			t.Errorf("remove namespaces of %s: %v", uid, err)
		}
	})
	return ns
}

// serve listens on TCP port inside the network namespace netns and answers
// every connection with greeting and the address it came from, until the
// test ends.
func serve(t *testing.T, netns string, port int, greeting string) {
	t.Helper()
	var ln net.Listener
	err := network.Do(netns, func() error {
		var err error
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listen on port %d in %s: %v", port, netns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(conn, "%s from %s\n", greeting, conn.RemoteAddr())
			conn.Close()
		}
	}()
}

// dial connects to addr from inside the network namespace netns and
// returns the line the server sent.
func dial(netns, addr string) (string, error) {
	var line string
	err := network.Do(netns, func() error {
		conn, err := net.DialTimeout("tcp4", addr, dialTimeout)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
			return err
		}
		line, err = bufio.NewReader(conn).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		return nil
	})
	return strings.TrimSpace(line), err
}

// hostname returns the hostname in the UTS namespace at path, as uname(2)
// inside it reports it.
func hostname(path string) (string, error) {
	type result struct {
		name string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer unix.Close(home)
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			done <- result{err: fmt.Errorf("setns %s: %w", path, err)}
			return // the thread stays locked and ends with the goroutine
		}
		var u unix.Utsname
		err = unix.Uname(&u)
		if err := unix.Setns(home, unix.CLONE_NEWUTS); err != nil {
			done <- result{err: fmt.Errorf("setns back: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{name: unix.ByteSliceToString(u.Nodename[:]), err: err}
	}()
	r := <-done
	return r.name, r.err
}

// counters are iptables-save's packet and byte counters.
var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// rootIptables returns the machine's own (root namespace) iptables rules
// without comments and counters, which change with traffic.
func rootIptables(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var b strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		b.WriteString(counters.ReplaceAllString(line, ""))
		b.WriteByte('\n')
	}
	return b.String()
}

// mountsUnder returns the mount points under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

// runIn runs a command inside the network namespace netns: started from a
// thread in it by network.Do, as the CNI plugins are.
func runIn(netns string, name string, args ...string) (string, error) {
	var out []byte
	err := network.Do(netns, func() error {
		var err error
		out, err = exec.Command(name, args...).CombinedOutput()
		return err
	})
	if err != nil {
		return string(out), fmt.Errorf("%s in %s: %w: %s", name, netns, err, out)
	}
	return string(out), nil
}
