package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/kubelet/runtime"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/mounts"
)

// Mount is a bind mount of a host path into a container (the runtime's).
type Mount = runtime.Mount

// Getter fetches the objects volumes are made from; a NotFound error or a
// nil object means the object does not exist. Nil functions find nothing.
type Getter struct {
	ConfigMap func(ns, name string) (*corev1.ConfigMap, error)
	Secret    func(ns, name string) (*corev1.Secret, error)
}

// Manager sets up and removes the volumes of pods under one directory.
// Calls for different pods may run concurrently; calls for one pod must
// not.
type Manager struct {
	// NodeAllocatable fills the limits a container does not set for
	// downwardAPI resourceFieldRef files, as the kubelet does.
	NodeAllocatable corev1.ResourceList

	dir string
	get Getter
}

// New returns a Manager keeping pods' files under dir.
func New(dir string, get Getter) *Manager {
	return &Manager{dir: dir, get: get}
}

// podDir is <dir>/<uid>, refusing UIDs that would leave dir.
func (m *Manager) podDir(uid string) (string, error) {
	if uid == "" || uid == "." || uid == ".." || strings.ContainsAny(uid, `/\`) {
		return "", fmt.Errorf("invalid pod UID %q", uid)
	}
	return filepath.Join(m.dir, uid), nil
}

// Setup materialises every volume of pod and returns volume name → host
// path. It is idempotent: a second call refreshes configMap and secret
// volumes (atomically) and leaves the rest alone. The error names the
// volume that failed, worded like the kubelet's FailedMount events
// (`MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`).
func (m *Manager) Setup(pod *corev1.Pod) (map[string]string, error) {
	dir, err := m.podDir(string(pod.UID))
	if err != nil {
		return nil, err
	}
	paths := make(map[string]string, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := validName(v.Name); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "volumes", v.Name)
		var err error
		switch {
		case v.EmptyDir != nil:
			err = setupEmptyDir(path)
		case v.ConfigMap != nil:
			err = m.setupConfigMap(pod, v.ConfigMap, path)
		case v.Secret != nil:
			err = m.setupSecret(pod, v.Secret, path)
		case v.DownwardAPI != nil:
			err = m.setupDownwardAPI(pod, v.DownwardAPI, path)
		case v.Projected != nil:
			err = m.setupProjected(pod, v.Projected, path)
		case v.HostPath != nil:
			path = filepath.Clean(v.HostPath.Path)
			err = checkHostPath(path, v.HostPath.Type)
		default:
			err = errors.New("volume type not supported by berth (emptyDir, configMap, secret, downwardAPI, projected, hostPath are)")
		}
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
		}
		paths[v.Name] = path
	}
	return paths, nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("invalid volume name %q", name)
	}
	return nil
}

// setupEmptyDir makes an emptyDir volume: a directory anyone may write,
// as the kubelet's (mode 0777).
func setupEmptyDir(path string) error {
	if err := os.MkdirAll(path, 0o777); err != nil {
		return fmt.Errorf("create emptyDir: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		return fmt.Errorf("chmod emptyDir: %w", err)
	}
	return nil
}

// Cleanup removes everything kept for the pod with UID podUID. It refuses
// to when something is mounted below the pod's directory (berth never
// mounts there, so that is someone else's mount to keep).
func (m *Manager) Cleanup(podUID string) error {
	dir, err := m.podDir(podUID)
	if err != nil {
		return err
	}
	mounted, err := mounts.Under(dir)
	if err != nil {
		return err
	}
	if len(mounted) > 0 {
		return fmt.Errorf("clean up pod %s: %s is mounted", podUID, mounted[0])
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean up pod %s: %w", podUID, err)
	}
	return nil
}

// TerminationLogPath creates (if missing) and returns the host file a
// container's terminationMessagePath is bind-mounted from.
func (m *Manager) TerminationLogPath(podUID, container string) (string, error) {
	dir, err := m.podDir(podUID)
	if err != nil {
		return "", err
	}
	if err := validName(container); err != nil {
		return "", fmt.Errorf("termination log: %w", err)
	}
	cdir := filepath.Join(dir, "containers", container)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return "", fmt.Errorf("termination log of %s: %w", container, err)
	}
	path := filepath.Join(cdir, "termination-log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return "", fmt.Errorf("termination log of %s: %w", container, err)
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o666); err != nil {
		return "", fmt.Errorf("termination log of %s: %w", container, err)
	}
	return path, nil
}
