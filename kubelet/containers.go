package kubelet

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// Crash-loop backoff: the delay before the n'th restart of a container is
// backoffBase doubled n-1 times, at most backoffMax.
const (
	backoffBase = 10 * time.Second
	backoffMax  = 5 * time.Minute
)

// record is the newest container the runtime has for one of a pod's
// containers.
type record struct {
	status  runtime.ContainerStatus
	attempt int
}

// startItem is a container to create and start (or, when existing is set,
// a created container to start).
type startItem struct {
	container corev1.Container
	attempt   int
	init      bool
	existing  string // ID of a created, never started container
}

// plan is what one pass of a pod worker does next, decided by decide from
// the pod's spec and the runtime's containers alone.
type plan struct {
	// start are the containers to start now.
	start []startItem
	// backoff holds containers waiting in CrashLoopBackOff until a time.
	backoff map[string]time.Time
	// stop are running containers to stop: their image changed in the
	// pod's spec; the next pass starts them again with the new one.
	stop []string
	// initDone says every init container has completed.
	initDone bool
	// failed says the pod has failed for good: an init container failed
	// under restartPolicy Never.
	failed bool
}

// decide returns the next steps for pod given the newest container of each
// of its containers (by name): init containers run one at a time in order,
// each to successful completion (restarted under Always and OnFailure); then
// every container runs, restarted after exits as restartPolicy says, with
// crash-loop backoff.
func decide(pod *corev1.Pod, latest map[string]record, now time.Time) plan {
	p := plan{backoff: map[string]time.Time{}}
	policy := pod.Spec.RestartPolicy
	for _, c := range pod.Spec.InitContainers {
		r, ok := latest[c.Name]
		switch {
		case !ok:
			p.start = append(p.start, startItem{container: c, init: true})
			return p
		case r.status.State == runtime.StateCreated:
			p.start = append(p.start, startItem{container: c, attempt: r.attempt, init: true, existing: r.status.ID})
			return p
		case r.status.State != runtime.StateExited:
			return p // still running
		case r.status.ExitCode == 0:
			continue
		case policy == corev1.RestartPolicyNever:
			p.failed = true
			return p
		default:
			p.restart(c, r, true, now)
			return p
		}
	}
	p.initDone = true
	for _, c := range pod.Spec.Containers {
		r, ok := latest[c.Name]
		switch {
		case !ok:
			p.start = append(p.start, startItem{container: c})
		case r.status.State == runtime.StateCreated:
			p.start = append(p.start, startItem{container: c, attempt: r.attempt, existing: r.status.ID})
		case r.status.State == runtime.StateRunning && imageChanged(c, r):
			p.stop = append(p.stop, r.status.ID)
		case r.status.State != runtime.StateExited:
		case imageChanged(c, r):
			p.start = append(p.start, startItem{container: c, attempt: r.attempt + 1})
		case shouldRestart(policy, r.status.ExitCode):
			p.restart(c, r, false, now)
		}
	}
	return p
}

// restart starts c's next attempt once its backoff has passed, or records
// the wait.
func (p *plan) restart(c corev1.Container, r record, init bool, now time.Time) {
	until := r.status.FinishedAt.Add(restartDelay(r))
	if now.Before(until) {
		p.backoff[c.Name] = until
		return
	}
	p.start = append(p.start, startItem{container: c, attempt: r.attempt + 1, init: init})
}

// imageChanged says whether the container r runs another image than the
// spec's c now names (a pod's image is the one field of a container that
// can be updated).
func imageChanged(c corev1.Container, r record) bool {
	if r.status.Image == "" {
		return false
	}
	want, err := runtime.NormalizeImage(c.Image)
	return err == nil && want != r.status.Image
}

// shouldRestart says whether a container that exited with code is
// restarted under policy.
func shouldRestart(policy corev1.RestartPolicy, code int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	default:
		return true
	}
}

// backoffReset is how long a container must have run for its next
// restart to wait only backoffBase again.
const backoffReset = 10 * time.Minute

// restartDelay is the wait before restarting the exited container r: the
// crash-loop backoff of its next attempt, or backoffBase after a run of
// backoffReset or more.
func restartDelay(r record) time.Duration {
	if !r.status.StartedAt.IsZero() && r.status.FinishedAt.Sub(r.status.StartedAt) >= backoffReset {
		return backoffBase
	}
	return backoffDelay(r.attempt + 1)
}

// backoffDelay is the wait before the n'th restart (n >= 1).
func backoffDelay(n int) time.Duration {
	d := backoffBase
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// maxContainerID is the longest container ID the runtime takes.
const maxContainerID = 76

// containerID is `<podUID>-<container>-<attempt>`, or, when that is too
// long for the runtime, the container name replaced by a hash of it.
func containerID(podUID, name string, attempt int) string {
	id := podUID + "-" + name + "-" + strconv.Itoa(attempt)
	if len(id) <= maxContainerID {
		return id
	}
	sum := sha256.Sum256([]byte(name))
	return podUID + "-" + hex.EncodeToString(sum[:8]) + "-" + strconv.Itoa(attempt)
}

// latestRecords picks, for each container name, the container with the
// highest attempt among infos' statuses.
func latestRecords(statuses []runtime.ContainerStatus) map[string]record {
	out := map[string]record{}
	for _, s := range statuses {
		name := s.Labels[runtime.LabelContainerName]
		attempt, err := strconv.Atoi(s.Labels[runtime.LabelAttempt])
		if name == "" || err != nil {
			continue
		}
		if cur, ok := out[name]; ok && cur.attempt >= attempt {
			continue
		}
		out[name] = record{status: s, attempt: attempt}
	}
	return out
}

// previousRecords picks, for each container name, the newest container
// older than its latest one: the attempt a restarted container's
// lastState reports.
func previousRecords(statuses []runtime.ContainerStatus, latest map[string]record) map[string]record {
	out := map[string]record{}
	for _, s := range statuses {
		name := s.Labels[runtime.LabelContainerName]
		attempt, err := strconv.Atoi(s.Labels[runtime.LabelAttempt])
		cur, ok := latest[name]
		if err != nil || !ok || attempt >= cur.attempt {
			continue
		}
		if p, ok := out[name]; ok && p.attempt >= attempt {
			continue
		}
		out[name] = record{status: s, attempt: attempt}
	}
	return out
}

// containerLabels are the labels of a pod's container's attempt.
func containerLabels(pod *corev1.Pod, name string, attempt int) map[string]string {
	return map[string]string{
		runtime.LabelPodUID:        string(pod.UID),
		runtime.LabelPodNamespace:  pod.Namespace,
		runtime.LabelPodName:       pod.Name,
		runtime.LabelContainerName: name,
		runtime.LabelAttempt:       strconv.Itoa(attempt),
	}
}
