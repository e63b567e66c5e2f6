package runtime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/containerd/containerd/namespaces"
	"golang.org/x/sys/unix"
)

// namespaced is a context in the runtime's default containerd namespace.
func namespaced() context.Context {
	return namespaces.WithNamespace(context.Background(), "berth")
}

// podNamespaces are network, IPC and UTS namespaces pinned by bind mounts,
// as the kubelet pins a pod's, with their /proc/PID/ns link text.
type podNamespaces struct {
	net, ipc, uts       string // the pinned files
	netID, ipcID, utsID string // "net:[4026532...]"
}

func (p podNamespaces) ids() map[string]string {
	return map[string]string{"net": p.netID, "ipc": p.ipcID, "uts": p.utsID}
}

// pinNamespaces creates new network, IPC and UTS namespaces (hostname set)
// on a thread of their own and bind-mounts them onto files in a temporary
// directory; t.Cleanup unmounts them, which frees the namespaces once no
// container is in them. The new network namespace has only a loopback
// interface, down: nothing in it reaches anything.
func pinNamespaces(t *testing.T, hostname string) podNamespaces {
	t.Helper()
	dir := t.TempDir()
	p := podNamespaces{
		net: filepath.Join(dir, "net"),
		ipc: filepath.Join(dir, "ipc"),
		uts: filepath.Join(dir, "uts"),
	}
	files := map[string]string{"net": p.net, "ipc": p.ipc, "uts": p.uts}
	for _, f := range files {
		if err := os.WriteFile(f, nil, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, f := range files {
			if err := unix.Unmount(f, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				t.Errorf("unmount %s: %v", f, err)
			}
		}
	})

	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, in the new namespaces, ends with the
		// goroutine, so no other goroutine ever runs in them.
		goruntime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if err := unix.Sethostname([]byte(hostname)); err != nil {
				return fmt.Errorf("sethostname: %w", err)
			}
			tid := unix.Gettid()
			for ns, f := range files {
				src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, ns)
				if err := unix.Mount(src, f, "", unix.MS_BIND, ""); err != nil {
					return fmt.Errorf("bind-mount %s on %s: %w", src, f, err)
				}
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("pin namespaces: %v", err)
	}
	for ns, f := range files {
		var st unix.Stat_t
		if err := unix.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%s:[%d]", ns, st.Ino)
		switch ns {
		case "net":
			p.netID = id
		case "ipc":
			p.ipcID = id
		case "uts":
			p.utsID = id
		}
	}
	return p
}
