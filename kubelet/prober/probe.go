package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/kubelet/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxOutput caps the output kept from a probe, as the kubelet's 10 KiB.
const maxOutput = 10 * 1024

// Target is what a probe runs against.
type Target struct {
	// PodIP is the default host of httpGet and tcpSocket probes.
	PodIP string
	// Exec runs cmd in the container and returns its exit code and
	// combined output; err is for a command that could not be run, except
	// runtime.ErrExecTimeout or a context deadline error, which mean it
	// timed out (a Failure, as the kubelet's). Nil makes exec probes
	// Unknown. The runtime's Containerd.Exec fits, bound to a container.
	Exec func(ctx context.Context, cmd []string, timeout time.Duration) (exitCode int, output []byte, err error)
	// Dial opens connections for httpGet and tcpSocket probes, e.g. from
	// inside the node's network namespace; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (t Target) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.Dial != nil {
		return t.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Probe runs p once for container c and returns its result and output
// (the command's output, the response body, or why it failed).
func Probe(ctx context.Context, p *corev1.Probe, c *corev1.Container, t Target) (Result, string) {
	if p == nil {
		return Unknown, "no probe"
	}
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	switch {
	case p.Exec != nil:
		return probeExec(ctx, p.Exec.Command, timeout, t)
	case p.HTTPGet != nil:
		return probeHTTP(ctx, p.HTTPGet, c, timeout, t)
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return Unknown, err.Error()
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = t.PodIP
		}
		return probeTCP(ctx, net.JoinHostPort(host, strconv.Itoa(port)), timeout, t)
	case p.GRPC != nil:
		return Failure, "gRPC probes are not supported by berth"
	}
	return Unknown, "probe has no handler (exec, httpGet, tcpSocket)"
}

func probeExec(ctx context.Context, cmd []string, timeout time.Duration, t Target) (Result, string) {
	if t.Exec == nil {
		return Unknown, "exec probes are not available"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, out, err := t.Exec(ctx, cmd, timeout)
	if len(out) > maxOutput {
		out = out[:maxOutput]
	}
	switch {
	case errors.Is(err, runtime.ErrExecTimeout), errors.Is(err, context.DeadlineExceeded):
		return Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
	case err != nil:
		return Unknown, fmt.Sprintf("exec %q: %v", strings.Join(cmd, " "), err)
	case code != 0:
		return Failure, string(out)
	}
	return Success, string(out)
}

func probeTCP(ctx context.Context, addr string, timeout time.Duration, t Target) (Result, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return Failure, err.Error()
	}
	_ = conn.Close()
	return Success, ""
}

// resolvePort turns a probe's port (a number or the name of one of c's
// ports) into a number, as the kubelet's findPortByName.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	n := port.IntValue()
	if port.Type == intstr.String {
		n = -1
		if c != nil {
			for _, p := range c.Ports {
				if p.Name == port.StrVal {
					n = int(p.ContainerPort)
					break
				}
			}
		}
		if n < 0 {
			name := ""
			if c != nil {
				name = c.Name
			}
			return 0, fmt.Errorf("couldn't find port: %v in container %q", port.StrVal, name)
		}
	}
	if n <= 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port number: %v", port.String())
	}
	return n, nil
}
