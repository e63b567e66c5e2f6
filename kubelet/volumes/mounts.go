package volumes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Mounts returns the bind mounts of container c's volumeMounts, given the
// host paths Setup returned. configMap, secret, downwardAPI and projected
// volumes are always read-only, as in Kubernetes. A subPath is joined to the volume's path
// and created (with the volume root's mode) when missing, as the kubelet
// does; it must be relative, must not contain "..", and must not lead out
// of the volume through a symlink. subPathExpr is not supported.
func (m *Manager) Mounts(pod *corev1.Pod, c *corev1.Container, paths map[string]string) ([]Mount, error) {
	vols := make(map[string]*corev1.Volume, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		vols[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	out := make([]Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q of container %q: no volume %q in the pod", vm.MountPath, c.Name, vm.Name)
		}
		host, ok := paths[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q of container %q: volume %q is not set up", vm.MountPath, c.Name, vm.Name)
		}
		if !filepath.IsAbs(vm.MountPath) {
			return nil, fmt.Errorf("volumeMount of volume %q in container %q: mountPath %q must be absolute", vm.Name, c.Name, vm.MountPath)
		}
		if vm.SubPathExpr != "" {
			return nil, fmt.Errorf("volumeMount %q of container %q: subPathExpr is not supported by berth", vm.MountPath, c.Name)
		}
		if vm.SubPath != "" {
			sub, err := subPath(host, vm.SubPath)
			if err != nil {
				return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.MountPath, c.Name, err)
			}
			host = sub
		}
		out = append(out, Mount{
			HostPath:      host,
			ContainerPath: vm.MountPath,
			ReadOnly:      vm.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil,
		})
	}
	return out, nil
}

// subPath returns volume/sub after checking sub stays inside the volume,
// creating it as a directory when missing.
func subPath(volume, sub string) (string, error) {
	if filepath.IsAbs(sub) {
		return "", fmt.Errorf("subPath %q must be a relative path", sub)
	}
	for _, part := range strings.Split(filepath.ToSlash(sub), "/") {
		if part == ".." {
			return "", fmt.Errorf("subPath %q must not contain '..'", sub)
		}
	}
	path := filepath.Join(volume, sub)
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		info, err := os.Stat(volume)
		if err != nil {
			return "", fmt.Errorf("subPath %q: volume: %w", sub, err)
		}
		if err := os.MkdirAll(path, info.Mode().Perm()); err != nil {
			return "", fmt.Errorf("create subPath %q: %w", sub, err)
		}
		if err := os.Chmod(path, info.Mode().Perm()); err != nil {
			return "", fmt.Errorf("chmod subPath %q: %w", sub, err)
		}
	}
	root, err := filepath.EvalSymlinks(volume)
	if err != nil {
		return "", fmt.Errorf("subPath %q: resolve volume: %w", sub, err)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("subPath %q: resolve: %w", sub, err)
	}
	if resolved != root && !strings.HasPrefix(resolved, root+string(filepath.Separator)) {
		return "", fmt.Errorf("subPath %q leads out of the volume (to %s)", sub, resolved)
	}
	return resolved, nil
}
