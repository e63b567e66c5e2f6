package kubelet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// prober runs one probe of a container once; nil means success.
type prober interface {
	probe(ctx context.Context, c *corev1.Container, p *corev1.Probe, containerID, podIP string) error
}

// netProber runs exec probes in the container and httpGet and tcpSocket
// probes from the node's network namespace.
type netProber struct {
	rt        runtime.Runtime
	hostNetNS string
}

func (np *netProber) probe(ctx context.Context, c *corev1.Container, p *corev1.Probe, containerID, podIP string) error {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.Exec != nil:
		code, out, err := np.rt.Exec(ctx, containerID, p.Exec.Command, timeout)
		if err != nil {
			return fmt.Errorf("exec probe: %w", err)
		}
		if code != 0 {
			return fmt.Errorf("exec probe: exit code %d: %s", code, strings.TrimSpace(string(out)))
		}
		return nil
	case p.HTTPGet != nil:
		return np.httpGet(ctx, c, p.HTTPGet, podIP, timeout)
	case p.TCPSocket != nil:
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		conn, err := dialIn(np.hostNetNS, net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return fmt.Errorf("tcp probe: %w", err)
		}
		return conn.Close()
	}
	return errors.New("probe has no handler")
}

// httpGet sends one GET over a connection made in the node's namespace;
// a status from 200 to 399 is success.
func (np *netProber) httpGet(ctx context.Context, c *corev1.Container, h *corev1.HTTPGetAction, podIP string, timeout time.Duration) error {
	host := h.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(h.Port, c)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := dialIn(np.hostNetNS, addr, timeout)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	path := h.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	for _, hd := range h.HTTPHeaders {
		req.Header.Add(hd.Name, hd.Value)
	}
	req.Header.Set("User-Agent", "berth-probe")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("http probe: status %d", resp.StatusCode)
	}
	return nil
}

// dialIn opens a TCP connection from netns (the process's own if empty).
// The socket is made on a thread inside netns and keeps that namespace.
func dialIn(netns, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if netns == "" {
		return d.Dial("tcp", addr)
	}
	var conn net.Conn
	err := network.Do(netns, func() error {
		var err error
		conn, err = d.Dial("tcp", addr)
		return err
	})
	return conn, err
}

// resolvePort turns a probe's port (a number or a container port's name)
// into a number.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("probe port %q: no such container port", port.StrVal)
}

// probeState is one probe's results so far.
type probeState struct {
	next      time.Time // when it runs next
	successes int       // in a row
	failures  int       // in a row
	ok        bool      // the last verdict after the thresholds
}

// containerProbes are the probes' state of one container (attempt).
type containerProbes struct {
	startup, liveness, readiness probeState
	started                      bool // the startup probe has succeeded (or there is none)
}

// ready says whether the container counts as ready: started, and its
// readiness probe (if any) succeeding.
func (cp *containerProbes) ready(c *corev1.Container) bool {
	return cp.started && (c.ReadinessProbe == nil || cp.readiness.ok)
}

// runProbes runs the container's probes that are due and reports whether
// the container must be restarted (startup or liveness probe failed past
// its threshold) and why.
func runProbes(ctx context.Context, pr prober, c *corev1.Container, cp *containerProbes, id, podIP string, startedAt, now time.Time) (restart bool, why string) {
	if !cp.started {
		if c.StartupProbe == nil {
			cp.started = true
		} else {
			ok, verdict := step(ctx, pr, c, c.StartupProbe, &cp.startup, id, podIP, startedAt, now)
			if !verdict {
				return false, ""
			}
			if !ok {
				return true, "startup probe failed"
			}
			cp.started = true
		}
	}
	if c.LivenessProbe != nil {
		if ok, verdict := step(ctx, pr, c, c.LivenessProbe, &cp.liveness, id, podIP, startedAt, now); verdict && !ok {
			return true, "liveness probe failed"
		}
	}
	if c.ReadinessProbe != nil {
		step(ctx, pr, c, c.ReadinessProbe, &cp.readiness, id, podIP, startedAt, now)
	}
	return false, ""
}

// step runs probe p when due and applies its thresholds; verdict says
// whether a threshold was reached by this run, and ok what it decided.
func step(ctx context.Context, pr prober, c *corev1.Container, p *corev1.Probe, st *probeState, id, podIP string, startedAt, now time.Time) (ok, verdict bool) {
	if now.Before(startedAt.Add(time.Duration(p.InitialDelaySeconds)*time.Second)) || now.Before(st.next) {
		return st.ok, false
	}
	period := time.Duration(p.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	st.next = now.Add(period)
	success, failure := max(int(p.SuccessThreshold), 1), max(int(p.FailureThreshold), 1)
	if p.FailureThreshold == 0 {
		failure = 3
	}
	if err := pr.probe(ctx, c, p, id, podIP); err != nil {
		st.successes = 0
		st.failures++
		if st.failures >= failure {
			st.ok, st.failures = false, 0
			return false, true
		}
		return st.ok, false
	}
	st.failures = 0
	st.successes++
	if st.successes >= success {
		st.ok = true
		return true, true
	}
	return st.ok, false
}
