package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// maxHostname is the longest host name a pod gets.
const maxHostname = 63

// ensureSandbox gives the pod pinned namespaces and a network (pod IP),
// once; namespaces and a network an earlier kubelet set up are adopted,
// with the pod IP the pod's status has.
func (k *Kubelet) ensureSandbox(ctx context.Context, pod *corev1.Pod, st *podState) error {
	if st.podIP != "" {
		return nil
	}
	uid := string(pod.UID)
	ns := network.NamespacePaths(k.nsDir, uid)
	if !ns.Pinned() {
		if err := ns.Remove(); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		var err error
		if ns, err = network.PinNamespaces(k.nsDir, uid, podHostname(pod)); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	st.ns = ns
	np := netPod(pod, ns)
	res, err := k.net.Setup(ctx, np)
	if errors.Is(err, network.ErrAlreadySetUp) {
		if pod.Status.PodIP != "" {
			st.podIP = pod.Status.PodIP
			return nil
		}
		// Set up by an earlier kubelet that never reported the address.
		if err := k.net.Teardown(ctx, np); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		res, err = k.net.Setup(ctx, np)
	}
	if err != nil {
		return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	st.podIP = res.IP.String()
	return nil
}

// removeSandbox tears down the network of the pod with uid, removes its
// pinned namespaces and its volume directory. It is idempotent.
func (k *Kubelet) removeSandbox(ctx context.Context, uid, namespace, name string) error {
	ns := network.NamespacePaths(k.nsDir, uid)
	if k.net != nil {
		if err := k.net.Teardown(ctx, network.Pod{UID: uid, Namespace: namespace, Name: name, NetNSPath: ns.Net}); err != nil {
			return err
		}
	}
	if err := ns.Remove(); err != nil {
		return err
	}
	if err := os.RemoveAll(k.podDir(uid)); err != nil {
		return fmt.Errorf("remove pod directory: %w", err)
	}
	return nil
}

// podDir holds a pod's volumes and logs.
func (k *Kubelet) podDir(uid string) string { return filepath.Join(k.podsDir, uid) }

// netPod is what CNI needs of pod: its namespace and host ports.
func netPod(pod *corev1.Pod, ns network.Namespaces) network.Pod {
	np := network.Pod{UID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name, NetNSPath: ns.Net}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				np.PortMappings = append(np.PortMappings, network.PortMapping{
					HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: string(p.Protocol), HostIP: p.HostIP,
				})
			}
		}
	}
	return np
}

// podHostname is the pod's spec.hostname, or its name, cut to 63
// characters.
func podHostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > maxHostname {
		h = h[:maxHostname]
	}
	return h
}

// volumeMounts are the container's mounts of the pod's emptyDir and
// hostPath volumes; an emptyDir is a directory under the pod's directory.
// Other volume kinds are not supported yet.
func (k *Kubelet) volumeMounts(pod *corev1.Pod, c *corev1.Container) ([]runtime.Mount, error) {
	var mounts []runtime.Mount
	for _, vm := range c.VolumeMounts {
		var src string
		for _, v := range pod.Spec.Volumes {
			if v.Name != vm.Name {
				continue
			}
			switch {
			case v.EmptyDir != nil:
				src = filepath.Join(k.podDir(string(pod.UID)), "volumes", v.Name)
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nil, fmt.Errorf("volume %s: %w", v.Name, err)
				}
			case v.HostPath != nil:
				src = v.HostPath.Path
			default:
				return nil, fmt.Errorf("volume %s: only emptyDir and hostPath volumes are supported", v.Name)
			}
		}
		if src == "" {
			return nil, fmt.Errorf("volume mount %s: no such volume", vm.Name)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, filepath.Clean("/"+vm.SubPath))
		}
		mounts = append(mounts, runtime.Mount{HostPath: src, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	return mounts, nil
}
