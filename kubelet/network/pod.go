package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// podIfName is the pod's interface, the bridge's veth peer.
const podIfName = "eth0"

// Pod is what CNI needs to know about a pod.
type Pod struct {
	// UID is the pod's UID. It is the CNI container ID, so that a
	// restarted agent can tear down what an earlier one set up.
	UID string
	// Namespace and Name are passed to the plugins as K8S_POD_NAMESPACE
	// and K8S_POD_NAME.
	Namespace, Name string
	// NetNSPath is the pod's network namespace, such as
	// [Namespaces].Net.
	NetNSPath string
	// PortMappings are the pod's hostPorts; mappings with HostPort 0 are
	// ignored.
	PortMappings []PortMapping
}

// PortMapping forwards a port of the node to a port of the pod.
type PortMapping struct {
	HostPort      int32
	ContainerPort int32
	// Protocol is TCP (the default), UDP or SCTP, in either case.
	Protocol string
	// HostIP limits the mapping to one of the node's addresses; empty
	// means all of them.
	HostIP string
}

// Result is a pod's network as the plugins set it up.
type Result struct {
	// IP is the pod's address on its eth0.
	IP netip.Addr
	// Gateway is the bridge's address, the pod's default route.
	Gateway netip.Addr
}

// portMappingJSON is a port mapping as the portmap plugin reads it.
type portMappingJSON struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// ErrAlreadySetUp is returned by Setup for a pod whose network is set up
// and not torn down (by this agent or an earlier one).
var ErrAlreadySetUp = errors.New("pod network is already set up: tear it down first")

// Setup attaches the pod's network namespace to the node's bridge (the CNI
// ADD of every plugin) and returns its address. On failure it undoes what
// the plugins did, so no address stays allocated. A pod already set up is
// left alone, with an error wrapping [ErrAlreadySetUp].
func (n *Network) Setup(ctx context.Context, pod Pod) (Result, error) {
	rt, err := runtimeConf(pod, pod.NetNSPath)
	if err != nil {
		return Result{}, fmt.Errorf("set up network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	// A second ADD would fail in the plugins, and undoing it would tear
	// down the pod's working network.
	if cached, err := n.cni.GetNetworkListCachedResult(n.list, rt); err == nil && cached != nil {
		return Result{}, fmt.Errorf("set up network of pod %s/%s: %w", pod.Namespace, pod.Name, ErrAlreadySetUp)
	}
	var raw types.Result
	err = n.inHost(func() error {
		var err error
		raw, err = n.cni.AddNetworkList(ctx, n.list, rt)
		return err
	})
	if err == nil {
		var res Result
		if res, err = podResult(raw); err == nil {
			return res, nil
		}
	}
	err = fmt.Errorf("set up network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	// A fresh context: the caller's may be what ended the ADD.
	if delErr := n.Teardown(context.WithoutCancel(ctx), pod); delErr != nil {
		err = errors.Join(err, delErr)
	}
	return Result{}, err
}

// Teardown detaches the pod from the node's network (the CNI DEL of every
// plugin, in reverse): its veth, iptables rules and hostPorts go and its
// address is released. It is idempotent, and it works when the pod's
// network namespace is already gone, though the usual order is Teardown,
// then [Namespaces.Remove].
func (n *Network) Teardown(ctx context.Context, pod Pod) error {
	netnsGone := !isNamespace(pod.NetNSPath)
	netns := pod.NetNSPath
	if netnsGone {
		// The plugins skip what happens inside the pod for an empty
		// netns, and fail for a path that is not a namespace.
		netns = ""
	}
	rt, err := runtimeConf(pod, netns)
	if err != nil {
		return fmt.Errorf("tear down network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err = n.inHost(func() error {
		if err := n.cni.DelNetworkList(ctx, n.list, rt); err != nil {
			return err
		}
		// The bridge plugin's own masquerade chain, of a pod that an older
		// agent set up with ipMasq or whose namespace is gone.
		return removeMasquerade(rt.ContainerID)
	})
	if err != nil {
		return fmt.Errorf("tear down network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// Check asks the plugins whether the pod's network is still as Setup left
// it (the CNI CHECK of bridge, host-local and loopback). portmap is left
// out: in the plugins Debian bookworm ships (v1.1.1) its CHECK fails for
// every IPv4-only pod with hostPorts, looking for IPv6 rules it never
// wrote (containernetworking/plugins#819).
func (n *Network) Check(ctx context.Context, pod Pod) error {
	rt, err := runtimeConf(pod, pod.NetNSPath)
	if err != nil {
		return fmt.Errorf("check network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err = n.inHost(func() error {
		return n.cni.CheckNetworkList(ctx, n.checkList, rt)
	})
	if err != nil {
		return fmt.Errorf("check network of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// runtimeConf returns the CNI arguments for pod, with netns as its
// network namespace.
func runtimeConf(pod Pod, netns string) (*libcni.RuntimeConf, error) {
	if err := checkPodUID(pod.UID); err != nil {
		return nil, err
	}
	var mappings []portMappingJSON
	for _, m := range pod.PortMappings {
		if m.HostPort == 0 {
			continue
		}
		if m.HostPort < 0 || m.HostPort > 65535 || m.ContainerPort <= 0 || m.ContainerPort > 65535 {
			return nil, fmt.Errorf("port mapping %d -> %d: ports must be 1 to 65535", m.HostPort, m.ContainerPort)
		}
		proto := strings.ToLower(m.Protocol)
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("port mapping %d -> %d: unknown protocol %q", m.HostPort, m.ContainerPort, m.Protocol)
		}
		if m.HostIP != "" {
			if _, err := netip.ParseAddr(m.HostIP); err != nil {
				return nil, fmt.Errorf("port mapping %d -> %d: host IP: %w", m.HostPort, m.ContainerPort, err)
			}
		}
		mappings = append(mappings, portMappingJSON{
			HostPort:      m.HostPort,
			ContainerPort: m.ContainerPort,
			Protocol:      proto,
			HostIP:        m.HostIP,
		})
	}
	rt := &libcni.RuntimeConf{
		ContainerID: pod.UID,
		NetNS:       netns,
		IfName:      podIfName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", pod.Namespace},
			{"K8S_POD_NAME", pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", pod.UID},
			{"K8S_POD_UID", pod.UID},
		},
	}
	if len(mappings) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": mappings}
	}
	return rt, nil
}

// podResult finds the pod's IPv4 address and gateway in the plugins'
// result: the address on the interface inside the pod's namespace.
func podResult(raw types.Result) (Result, error) {
	r, err := types100.NewResultFromResult(raw)
	if err != nil {
		return Result{}, fmt.Errorf("read CNI result: %w", err)
	}
	for _, ip := range r.IPs {
		if ip.Interface == nil || *ip.Interface < 0 || *ip.Interface >= len(r.Interfaces) ||
			r.Interfaces[*ip.Interface].Sandbox == "" {
			continue
		}
		addr, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok || !addr.Unmap().Is4() {
			continue
		}
		gw, _ := netip.AddrFromSlice(ip.Gateway)
		return Result{IP: addr.Unmap(), Gateway: gw.Unmap()}, nil
	}
	return Result{}, fmt.Errorf("CNI result has no IPv4 address inside the pod (%d addresses in all)", len(r.IPs))
}
