package kubelet

import (
	"context"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/prober"
)

// containerProbes are the probe workers of one container instance, stepped
// by its pod's worker: the startup probe first, the liveness and readiness
// probes once it succeeded (or when there is none), as the kubelet's.
type containerProbes struct {
	startup, liveness, readiness *prober.Worker
	started                      bool // the startup probe has succeeded (or there is none)
	ready                        bool // started, and the readiness probe succeeding (or none)
}

// newContainerProbes returns the workers of container c's instance run
// against t.
func (k *Kubelet) newContainerProbes(c *corev1.Container, t prober.Target) *containerProbes {
	return &containerProbes{
		startup:   prober.NewWorker(prober.Startup, c.StartupProbe, c, t, k.now),
		liveness:  prober.NewWorker(prober.Liveness, c.LivenessProbe, c, t, k.now),
		readiness: prober.NewWorker(prober.Readiness, c.ReadinessProbe, c, t, k.now),
	}
}

// step runs the container's probes that are due and reports whether the
// container must be restarted (its startup or liveness probe failed past
// its threshold, reported once) and why.
func (cp *containerProbes) step(ctx context.Context, startedAt time.Time) (restart bool, why string) {
	if !cp.started {
		switch r, changed := cp.startup.Step(ctx, startedAt); {
		case r == prober.Success:
			cp.started = true
		case r == prober.Failure && changed:
			return true, "startup probe failed"
		default:
			return false, ""
		}
	}
	if r, changed := cp.liveness.Step(ctx, startedAt); r == prober.Failure && changed {
		cp.ready = false
		return true, "liveness probe failed"
	}
	r, _ := cp.readiness.Step(ctx, startedAt)
	cp.ready = r == prober.Success
	return false, ""
}

// probeTarget is what the probes of container id run against: exec in the
// container, connections from the node's network namespace to the pod's IP.
func (k *Kubelet) probeTarget(id, podIP string) prober.Target {
	return prober.Target{
		PodIP: podIP,
		Exec: func(ctx context.Context, cmd []string, timeout time.Duration) (int, []byte, error) {
			return k.rt.Exec(ctx, id, cmd, timeout)
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialIn(ctx, k.opts.HostNetNS, network, addr)
		},
	}
}

// dialIn opens a connection from netns (the process's own if empty). The
// socket is made on a thread inside netns and keeps that namespace.
func dialIn(ctx context.Context, netns, nw, addr string) (net.Conn, error) {
	var d net.Dialer
	if netns == "" {
		return d.DialContext(ctx, nw, addr)
	}
	var conn net.Conn
	err := network.Do(netns, func() error {
		var err error
		conn, err = d.DialContext(ctx, nw, addr)
		return err
	})
	return conn, err
}
