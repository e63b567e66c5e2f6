// Package prober runs a container's liveness, readiness and startup probes
// as the kubelet does.
//
// Probe runs one probe (exec, httpGet or tcpSocket; grpc is reported as a
// failure) against a Target: the pod's IP, a function that runs a command
// in the container, and a dialer that may reach into the pod's network
// namespace. A Worker repeats one probe on its period after the initial
// delay and turns single results into the thresholded verdict the kubelet
// acts on:
//
//	w := prober.NewWorker(prober.Liveness, c.LivenessProbe, c, target, time.Now)
//	go w.Run(ctx, startedAt, func(r prober.Result) {
//		if r == prober.Failure {
//			restart(c) // "Container web failed liveness probe, will be restarted"
//		}
//	})
//
// A caller that polls (the kubelet's pod workers) calls Worker.Step on
// each pass instead of Run: it probes when the probe is due and returns the
// same thresholded verdict.
//
// The caller starts liveness and readiness workers once the container has
// started (after its startup probe succeeded, when it has one), and a new
// worker for each new container instance, as the kubelet does.
package prober
