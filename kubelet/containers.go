package kubelet

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/kubelet/backoff"
	"github.com/berth-dev/berth/kubelet/runtime"
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
// every container runs, restarted after exits as restartPolicy says, once
// bo (told of the exits by noteExits) no longer holds them back.
func decide(pod *corev1.Pod, latest map[string]record, bo *backoff.Backoff, now time.Time) plan {
	p := plan{backoff: map[string]time.Time{}}
	restart := func(c corev1.Container, r record, init bool) {
		key := backoffKey(pod.UID, c.Name)
		if bo.InBackoff(key, now) {
			p.backoff[c.Name] = now.Add(bo.Remaining(key, now))
			return
		}
		p.start = append(p.start, startItem{container: c, attempt: r.attempt + 1, init: init})
	}
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
			restart(c, r, true)
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
			restart(c, r, false)
		}
	}
	return p
}

// backoffKey names a pod's container in the crash-loop and image pull
// backoffs.
func backoffKey(podUID types.UID, name string) string {
	return string(podUID) + "/" + name
}

// exitNote is the exit of a container the crash-loop backoff was told of.
type exitNote struct {
	id   string        // the exited container
	wait time.Duration // the backoff it got
}

// noteExits tells the crash-loop backoff of the newest exit of each of
// pod's containers, once: the wait before the restart runs from the exit,
// 10s first, doubling to 5m, back to 10s after a run of 10m or more.
func (k *Kubelet) noteExits(pod *corev1.Pod, st *podState, latest map[string]record) {
	for name, r := range latest {
		if r.status.State != runtime.StateExited || st.exits[name].id == r.status.ID {
			continue
		}
		key := backoffKey(pod.UID, name)
		if !r.status.StartedAt.IsZero() {
			k.crashBackoff.RanFor(key, r.status.FinishedAt.Sub(r.status.StartedAt))
		}
		st.exits[name] = exitNote{id: r.status.ID, wait: k.crashBackoff.Next(key, r.status.FinishedAt)}
	}
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
