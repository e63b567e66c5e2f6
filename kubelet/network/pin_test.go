package network_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
	"golang.org/x/sys/unix"
)

// nsInode returns the inode of the namespace at path, which identifies it.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// checkThreadsHome fails the test if any thread of the test process is in
// another network, IPC or UTS namespace than the process's first thread:
// a locked thread handed back to the Go scheduler in a pod's namespace.
func checkThreadsHome(t *testing.T) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"net", "ipc", "uts"} {
		home := nsInode(t, "/proc/self/ns/"+kind) // the main thread's
		for _, task := range tasks {
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join("/proc/self/task", task.Name(), "ns", kind), &st); err != nil {
				continue // the thread ended meanwhile
			}
			if st.Ino != home {
				t.Errorf("thread %s is in another %s namespace than the process", task.Name(), kind)
			}
		}
	}
}

func TestPinNamespaces(t *testing.T) {
	netnstest.Require(t)
	dir := t.TempDir()
	const uid = "4f1c7a32-1111-4d8e-a0c1-000000000001"
	ns := pinPod(t, dir, uid, "web-0")

	if want := network.NamespacePaths(dir, uid); ns != want {
		t.Errorf("PinNamespaces = %+v, want %+v", ns, want)
	}
	if !ns.Pinned() {
		t.Fatalf("namespaces not pinned: %+v", ns)
	}
	for _, kind := range []string{"net", "ipc", "uts"} {
		self := nsInode(t, "/proc/self/ns/"+kind)
		pinned := nsInode(t, filepath.Join(dir, uid, kind))
		if self == pinned {
			t.Errorf("pinned %s namespace is the process's own", kind)
		}
	}
	if got, err := hostname(ns.UTS); err != nil || got != "web-0" {
		t.Errorf("hostname in the pod = %q, %v; want web-0", got, err)
	}
	out, err := runIn(ns.Net, "ip", "-o", "link")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], " lo:") {
		t.Errorf("links in a new pod network namespace:\n%s\nwant only lo", out)
	}

	// Pinning again fails and leaves the first namespaces alone.
	if _, err := network.PinNamespaces(dir, uid, "web-0"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second PinNamespaces: %v, want an error wrapping fs.ErrExist", err)
	}
	if !ns.Pinned() {
		t.Errorf("a failed second PinNamespaces unpinned the first")
	}
	checkThreadsHome(t)

	// A restarted agent removes them knowing only the paths.
	again := network.NamespacePaths(dir, uid)
	for range 2 {
		if err := again.Remove(); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if ns.Pinned() {
		t.Errorf("still pinned after Remove")
	}
	if _, err := os.Stat(filepath.Join(dir, uid)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pod directory after Remove: %v", err)
	}
	if m := mountsUnder(t, dir); len(m) != 0 {
		t.Errorf("mounts left after Remove: %v", m)
	}
}

func TestPinNamespacesErrors(t *testing.T) {
	netnstest.Require(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, uid, hostname, want string
	}{
		{"empty UID", "", "h", "invalid pod UID"},
		{"UID with a slash", "../x", "h", "invalid pod UID"},
		{"hostname too long", "4f1c7a32-2222-4d8e-a0c1-000000000002", strings.Repeat("h", 65), "set hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := network.PinNamespaces(dir, tc.uid, tc.hostname)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("PinNamespaces error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 || len(mountsUnder(t, dir)) != 0 {
		t.Errorf("failed PinNamespaces left %d files and mounts %v", len(entries), mountsUnder(t, dir))
	}
	checkThreadsHome(t)
}
