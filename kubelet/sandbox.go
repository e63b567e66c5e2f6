package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/kubelet/volumes"
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
	if pod.Spec.HostNetwork {
		return k.ensureHostNetworkSandbox(pod, st)
	}
	uid := string(pod.UID)
	ns := network.NamespacePaths(k.nsDir, uid)
	if !k.pins.pinned(ns) {
		if err := k.pins.remove(ns); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		var err error
		if ns, err = k.pins.pin(k.nsDir, uid, podHostname(pod)); err != nil {
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
	if err := k.pins.remove(ns); err != nil {
		return err
	}
	return k.vols.Cleanup(uid)
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

// volumeRefresh is how often configMap and secret volumes are rewritten
// from the API.
const volumeRefresh = time.Minute

// ensureVolumes sets up the pod's volumes (again every volumeRefresh, to
// follow configMap and secret changes) and writes its /etc/hosts and
// /etc/resolv.conf once it has an IP.
func (k *Kubelet) ensureVolumes(pod *corev1.Pod, st *podState, now time.Time) error {
	if st.volPaths == nil || now.Sub(st.volSetAt) >= volumeRefresh {
		paths, err := k.vols.Setup(pod)
		if err != nil {
			return err
		}
		st.volPaths, st.volSetAt = paths, now
	}
	if st.hostsFile == "" {
		hosts, resolv, err := k.vols.EtcFiles(pod, st.podIP, volumes.DNS{Nameservers: k.opts.ClusterDNS, ClusterDomain: k.opts.ClusterDomain})
		if err != nil {
			return err
		}
		st.hostsFile, st.resolvFile = hosts, resolv
	}
	return nil
}

// containerMounts are c's volume mounts, /etc/hosts, /etc/resolv.conf and
// its termination log.
func (k *Kubelet) containerMounts(pod *corev1.Pod, st *podState, c *corev1.Container) ([]runtime.Mount, error) {
	mounts, err := k.vols.Mounts(pod, c, st.volPaths)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts,
		runtime.Mount{HostPath: st.hostsFile, ContainerPath: "/etc/hosts"},
		runtime.Mount{HostPath: st.resolvFile, ContainerPath: "/etc/resolv.conf"})
	termPath := c.TerminationMessagePath
	if termPath == "" {
		termPath = corev1.TerminationMessagePathDefault
	}
	logPath, err := k.vols.TerminationLogPath(string(pod.UID), c.Name)
	if err != nil {
		return nil, err
	}
	return append(mounts, runtime.Mount{HostPath: logPath, ContainerPath: termPath}), nil
}

// namespacePins pins, checks and removes pods' namespaces; tests replace
// it with one that touches no namespace.
type namespacePins interface {
	pin(dir, podUID, hostname string) (network.Namespaces, error)
	pinned(ns network.Namespaces) bool
	remove(ns network.Namespaces) error
}

// realPins is namespacePins through package network.
type realPins struct{}

func (realPins) pin(dir, podUID, hostname string) (network.Namespaces, error) {
	return network.PinNamespaces(dir, podUID, hostname)
}
func (realPins) pinned(ns network.Namespaces) bool  { return ns.Pinned() }
func (realPins) remove(ns network.Namespaces) error { return ns.Remove() }

// ensureHostNetworkSandbox gives a hostNetwork pod pinned IPC and UTS
// namespaces and the node's network namespace (HostNetNS, else the
// agent's own) and address; CNI is not involved.
func (k *Kubelet) ensureHostNetworkSandbox(pod *corev1.Pod, st *podState) error {
	ip := k.hostIP.Load()
	if ip == nil {
		return fmt.Errorf("sandbox of hostNetwork pod %s/%s: the node's address is not known yet", pod.Namespace, pod.Name)
	}
	uid := string(pod.UID)
	ns := network.NamespacePaths(k.nsDir, uid)
	if !k.pins.pinned(ns) {
		if err := k.pins.remove(ns); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		var err error
		if ns, err = k.pins.pin(k.nsDir, uid, podHostname(pod)); err != nil {
			return fmt.Errorf("sandbox of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	ns.Net = k.opts.HostNetNS
	if ns.Net == "" {
		ns.Net = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	}
	st.ns, st.podIP = ns, *ip
	return nil
}
