package network

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"golang.org/x/sys/unix"
)

// Namespaces are the pinned namespaces of one pod: each path is a file with
// the namespace bind-mounted on it, so that the namespace lives as long as
// the mount does, with or without processes in it. Containers of the pod
// join them by path.
type Namespaces struct {
	// Net is the pod's network namespace, the netns its CNI plugins set up.
	Net string
	// IPC is the pod's IPC namespace.
	IPC string
	// UTS is the pod's UTS namespace, which holds its hostname.
	UTS string
}

// nsfsMagic is the statfs type of a mounted namespace file (NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// NamespacePaths returns where [PinNamespaces] pins the namespaces of the pod
// with podUID under dir, without creating or checking anything. A restarted
// agent uses it to find, check ([Namespaces.Pinned]) or remove the
// namespaces of pods it created before.
func NamespacePaths(dir, podUID string) Namespaces {
	podDir := filepath.Join(dir, podUID)
	return Namespaces{
		Net: filepath.Join(podDir, "net"),
		IPC: filepath.Join(podDir, "ipc"),
		UTS: filepath.Join(podDir, "uts"),
	}
}

// PinNamespaces creates new network, IPC and UTS namespaces for the pod with
// podUID, sets hostname in the new UTS namespace, and pins the three under
// dir/<podUID>/ (see [NamespacePaths]). The new network namespace holds only
// a loopback interface, down; the CNI loopback plugin brings it up in
// [Network.Setup].
//
// It fails if the pod already has namespaces there (the error wraps
// fs.ErrExist): call [Namespaces.Remove] first or use them as they are.
// On any error nothing is left behind.
func PinNamespaces(dir, podUID, hostname string) (Namespaces, error) {
	if err := checkPodUID(podUID); err != nil {
		return Namespaces{}, err
	}
	ns := NamespacePaths(dir, podUID)
	if err := os.MkdirAll(filepath.Dir(ns.Net), 0o700); err != nil {
		return Namespaces{}, fmt.Errorf("pin namespaces of pod %s: %w", podUID, err)
	}
	var created Namespaces
	for i, p := range ns.paths() {
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o400)
		if err != nil {
			// Remove only what this call created: files that were
			// there may be another pod's live namespaces.
			err = fmt.Errorf("pin namespaces of pod %s: %w", podUID, err)
			return Namespaces{}, errors.Join(err, created.Remove())
		}
		f.Close()
		*created.field(i) = p
	}

	done := make(chan error, 1)
	go func() {
		done <- pinLocked(ns, hostname)
	}()
	if err := <-done; err != nil {
		err = fmt.Errorf("pin namespaces of pod %s: %w", podUID, err)
		return Namespaces{}, errors.Join(err, ns.Remove())
	}
	return ns, nil
}

// pinLocked runs on its own goroutine. It locks the goroutine to its OS
// thread, moves the thread into new namespaces, bind-mounts them and moves
// the thread back. Only then does it unlock the thread; if it cannot move
// back, the thread stays locked and leaves the Go scheduler with the
// goroutine. (Ending the goroutine is not enough by itself: on the main
// thread the runtime parks it for good instead of ending it, which would
// keep the pod's namespaces alive and put the process's /proc/self/ns in
// the pod.)
func pinLocked(ns Namespaces, hostname string) error {
	runtime.LockOSThread()
	home, err := openThreadNamespaces()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer home.close()

	pinErr := pinHere(ns, hostname)
	if err := home.enter(); err != nil {
		return errors.Join(pinErr, err)
	}
	runtime.UnlockOSThread()
	return pinErr
}

// pinHere moves the calling thread into new namespaces and pins them.
func pinHere(ns Namespaces, hostname string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("unshare net, ipc and uts namespaces: %w", err)
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set hostname %q: %w", hostname, err)
	}
	task := fmt.Sprintf("/proc/self/task/%d/ns", unix.Gettid())
	for i, kind := range namespaceKinds {
		src := filepath.Join(task, kind.name)
		dst := ns.paths()[i]
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s on %s: %w", src, dst, err)
		}
	}
	return nil
}

// namespaceKinds are the namespaces a pod gets, in the order of
// Namespaces.paths.
var namespaceKinds = []struct {
	name string
	flag int
}{
	{"net", unix.CLONE_NEWNET},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
}

// threadNamespaces are open handles on a thread's namespaces, in the order
// of namespaceKinds.
type threadNamespaces []int

// openThreadNamespaces opens the calling thread's namespaces of
// namespaceKinds. The caller has locked the thread.
func openThreadNamespaces() (threadNamespaces, error) {
	task := fmt.Sprintf("/proc/self/task/%d/ns", unix.Gettid())
	var fds threadNamespaces
	for _, kind := range namespaceKinds {
		p := filepath.Join(task, kind.name)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fds.close()
			return nil, fmt.Errorf("open current namespace %s: %w", p, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// enter moves the calling thread into the namespaces.
func (fds threadNamespaces) enter() error {
	for i, fd := range fds {
		if err := unix.Setns(fd, namespaceKinds[i].flag); err != nil {
			return fmt.Errorf("return to the original %s namespace: %w", namespaceKinds[i].name, err)
		}
	}
	return nil
}

// close closes the handles.
func (fds threadNamespaces) close() {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Pinned reports whether all three paths are mounted namespaces, as
// [PinNamespaces] left them.
func (ns Namespaces) Pinned() bool {
	for _, p := range ns.paths() {
		if !isNamespace(p) {
			return false
		}
	}
	return true
}

// Remove unmounts the pinned namespaces and deletes their files and, when
// it is empty, the pod's directory. The namespaces end once no process is
// left in them. It is idempotent: paths already unmounted or gone are fine.
func (ns Namespaces) Remove() error {
	var errs []error
	for _, p := range ns.paths() {
		if p == "" {
			continue
		}
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil &&
			!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount namespace %s: %w", p, err))
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace file: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, p := range ns.paths() {
		if p == "" {
			continue
		}
		podDir := filepath.Dir(p)
		if err := os.Remove(podDir); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("remove pod namespace directory: %w", err)
		}
		break
	}
	return nil
}

// paths lists the three namespace files, in the order of field.
func (ns Namespaces) paths() []string { return []string{ns.Net, ns.IPC, ns.UTS} }

// field returns the i'th path of paths for setting.
func (ns *Namespaces) field(i int) *string {
	return [...]*string{&ns.Net, &ns.IPC, &ns.UTS}[i]
}

// isNamespace reports whether path is a mounted namespace file.
func isNamespace(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == nsfsMagic
}

// validPodUID is what CNI accepts as a container ID (Kubernetes pod UIDs
// are UUIDs); it is also a safe directory name.
var validPodUID = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)

// checkPodUID rejects UIDs that cannot be a directory name or a CNI
// container ID.
func checkPodUID(uid string) error {
	if !validPodUID.MatchString(uid) {
		return fmt.Errorf("invalid pod UID %q: want letters, digits, '_', '.' and '-', not starting with one of the last three", uid)
	}
	return nil
}
