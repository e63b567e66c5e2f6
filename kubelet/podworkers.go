package kubelet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-dev/berth/kubelet/env"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// podWorkers runs one goroutine per pod bound to the node.
type podWorkers struct {
	k  *Kubelet
	wg sync.WaitGroup

	mu      sync.Mutex // guards workers
	workers map[types.UID]*podWorker
}

// podWorker is the goroutine of one pod, woken by events.
type podWorker struct {
	uid             types.UID
	namespace, name string
	wake            chan struct{}
}

// podState is what a pod's worker remembers between passes. Only the
// worker's goroutine touches it.
type podState struct {
	ns     network.Namespaces
	podIP  string
	probes map[string]*containerProbes // by container ID
	pulls  map[string]*pullFailure     // by container name
	exits  map[string]exitNote         // by container name
	// volPaths are the pod's volumes on the host (volume name → path),
	// set up at volSetAt; hostsFile and resolvFile its /etc files.
	volPaths              map[string]string
	volSetAt              time.Time
	hostsFile, resolvFile string
	// prev are the attempts before the newest, by container name.
	prev map[string]record
	// lastStatus is the status this worker last wrote.
	lastStatus *corev1.PodStatus
	// wakeAt, when set, is when the worker should pass again, sooner than
	// its SyncInterval: a container just started is probed then.
	wakeAt time.Time
}

// pullFailure is a container whose image could not be had.
type pullFailure struct {
	reason  string // ErrImagePull, ImagePullBackOff or ErrImageNeverPull
	message string
}

func newPodState() *podState {
	return &podState{probes: map[string]*containerProbes{}, pulls: map[string]*pullFailure{}, exits: map[string]exitNote{}}
}

func newPodWorkers(k *Kubelet) *podWorkers {
	return &podWorkers{k: k, workers: map[types.UID]*podWorker{}}
}

// notify wakes the worker of the pod obj, starting one if needed (but not
// for a pod deleted from the API: garbage collection cleans up after it).
func (pw *podWorkers) notify(ctx context.Context, obj any) {
	deleted := false
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = tomb.Obj, true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if _, err := pw.k.lister.Pods(pod.Namespace).Get(pod.Name); apierrors.IsNotFound(err) {
		deleted = true
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	w := pw.workers[pod.UID]
	if w == nil {
		if deleted || ctx.Err() != nil {
			return
		}
		w = &podWorker{uid: pod.UID, namespace: pod.Namespace, name: pod.Name, wake: make(chan struct{}, 1)}
		pw.workers[pod.UID] = w
		pw.wg.Add(1)
		go pw.run(ctx, w)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// known says whether a worker runs for uid.
func (pw *podWorkers) known(uid types.UID) bool {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.workers[uid] != nil
}

// wait waits for every worker to return (after ctx ended).
func (pw *podWorkers) wait() { pw.wg.Wait() }

// run reconciles the pod every SyncInterval and on events until the pod is
// gone and cleaned up, or ctx ends.
func (pw *podWorkers) run(ctx context.Context, w *podWorker) {
	defer pw.wg.Done()
	k := pw.k
	st := newPodState()
	t := time.NewTicker(k.opts.SyncInterval)
	defer t.Stop()
	for {
		done := false
		pod, err := k.lister.Pods(w.namespace).Get(w.name)
		if (err == nil && pod.UID != w.uid) || apierrors.IsNotFound(err) {
			// Deleted from the API without us (force deletion).
			if err := k.terminate(ctx, nil, string(w.uid), w.namespace, w.name); err != nil {
				k.log.Warn("clean up deleted pod", "pod", w.namespace+"/"+w.name, "err", err)
			} else {
				done = true
			}
		} else if err == nil {
			done = k.syncPod(ctx, pod, st)
		}
		if done {
			k.forgetBackoffs(w.uid, st)
			pw.mu.Lock()
			delete(pw.workers, w.uid)
			pw.mu.Unlock()
			return
		}
		var soon <-chan time.Time
		var timer *time.Timer
		if !st.wakeAt.IsZero() {
			timer = time.NewTimer(max(time.Until(st.wakeAt), 0))
			soon, st.wakeAt = timer.C, time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-soon:
		case <-w.wake:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// syncPod takes the pod one step towards its spec and writes its status;
// it reports whether the pod is finished with (deleted).
func (k *Kubelet) syncPod(ctx context.Context, pod *corev1.Pod, st *podState) bool {
	log := k.log.With("pod", pod.Namespace+"/"+pod.Name)
	if pod.DeletionTimestamp != nil {
		if err := k.terminate(ctx, pod, string(pod.UID), pod.Namespace, pod.Name); err != nil {
			if ctx.Err() == nil {
				log.Warn("terminate pod", "err", err)
			}
			return false
		}
		log.Info("pod terminated and deleted")
		return true
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if err := k.ensureSandbox(ctx, pod, st); err != nil {
		if ctx.Err() == nil {
			log.Warn("pod sandbox", "err", err)
			k.events.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		}
		return false
	}
	now := k.now()
	if err := k.ensureVolumes(pod, st, now); err != nil {
		log.Warn("pod volumes", "err", err)
		k.events.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%v", err)
		return false
	}
	statuses, err := k.podContainers(ctx, string(pod.UID))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("list containers", "err", err)
		}
		return false
	}
	latest := latestRecords(statuses)
	st.prev = k.removeOldAttempts(ctx, statuses, latest)
	k.noteExits(pod, st, latest)
	p := decide(pod, latest, k.crashBackoff, now)
	for _, id := range p.stop {
		k.log.Info("stopping a container whose image changed", "pod", pod.Namespace+"/"+pod.Name, "container", id)
		if err := k.rt.StopContainer(ctx, id, gracePeriod(pod)); err != nil {
			log.Warn("stop container", "container", id, "err", err)
		}
	}
	for _, item := range p.start {
		if err := k.startContainer(ctx, pod, st, item, now); err != nil && ctx.Err() == nil {
			log.Warn("start container", "container", item.container.Name, "err", err)
		}
	}
	if len(p.start) > 0 {
		if statuses, err = k.podContainers(ctx, string(pod.UID)); err != nil {
			return false
		}
		latest = latestRecords(statuses)
		st.prev = previousRecords(statuses, latest)
		k.noteExits(pod, st, latest)
		p = decide(pod, latest, k.crashBackoff, now)
	}
	k.probeContainers(ctx, pod, st, latest, now)
	k.writeStatus(ctx, pod, st, latest, p, now)
	return false
}

// forgetBackoffs drops the pod's entries from the crash-loop and image
// pull backoffs once its worker is done.
func (k *Kubelet) forgetBackoffs(uid types.UID, st *podState) {
	for name := range st.exits {
		k.crashBackoff.Reset(backoffKey(uid, name))
	}
	for name := range st.pulls {
		k.pullBackoff.Reset(backoffKey(uid, name))
	}
}

// podContainers returns the status of every container of the pod.
func (k *Kubelet) podContainers(ctx context.Context, uid string) ([]runtime.ContainerStatus, error) {
	infos, err := k.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: uid})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.ContainerStatus, 0, len(infos))
	for _, info := range infos {
		s, err := k.rt.ContainerStatus(ctx, info.ID)
		if errors.Is(err, runtime.ErrContainerNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// removeOldAttempts removes exited containers older than the newest
// attempt of their name and the one before it, which it returns.
func (k *Kubelet) removeOldAttempts(ctx context.Context, statuses []runtime.ContainerStatus, latest map[string]record) map[string]record {
	prev := previousRecords(statuses, latest)
	for _, s := range statuses {
		name := s.Labels[runtime.LabelContainerName]
		r, ok := latest[name]
		if !ok || r.status.ID == s.ID || prev[name].status.ID == s.ID || s.State != runtime.StateExited {
			continue
		}
		if err := k.rt.RemoveContainer(ctx, s.ID); err != nil {
			k.log.Warn("remove old container", "container", s.ID, "err", err)
		}
	}
	return prev
}

// startContainer makes sure of the image, then creates and starts one
// attempt of a container. An image that cannot be had is remembered with
// a backoff, for the status to report.
func (k *Kubelet) startContainer(ctx context.Context, pod *corev1.Pod, st *podState, item startItem, now time.Time) error {
	c := &item.container
	if item.existing != "" {
		return k.rt.StartContainer(ctx, item.existing)
	}
	if pf := st.pulls[c.Name]; pf != nil && k.pullBackoff.InBackoff(backoffKey(pod.UID, c.Name), now) {
		if pf.reason == "ErrImagePull" {
			pf.reason = "ImagePullBackOff"
			pf.message = fmt.Sprintf("Back-off pulling image %q: %s", c.Image, pf.message)
		}
		return nil
	}
	if _, err := k.rt.EnsureImage(ctx, c.Image, c.ImagePullPolicy); err != nil {
		pf := st.pulls[c.Name]
		if pf == nil {
			pf = &pullFailure{}
			st.pulls[c.Name] = pf
		}
		pf.reason, pf.message = "ErrImagePull", err.Error()
		if c.ImagePullPolicy == corev1.PullNever && errors.Is(err, runtime.ErrImageNotPresent) {
			pf.reason = "ErrImageNeverPull"
		}
		k.pullBackoff.Next(backoffKey(pod.UID, c.Name), now)
		k.events.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		return fmt.Errorf("image %s: %w", c.Image, err)
	}
	delete(st.pulls, c.Name)
	k.pullBackoff.Reset(backoffKey(pod.UID, c.Name))
	spec, err := k.containerSpec(pod, st, c, item.attempt)
	if err != nil {
		// Reported until a later pass gets further.
		st.pulls[c.Name] = &pullFailure{reason: "CreateContainerConfigError", message: err.Error()}
		return err
	}
	if err := k.rt.CreateContainer(ctx, spec); err != nil {
		k.events.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	k.events.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container %s", c.Name)
	if err := k.rt.StartContainer(ctx, spec.ID); err != nil {
		k.events.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return fmt.Errorf("start container %s: %w", spec.ID, err)
	}
	k.events.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	return nil
}

// containerSpec turns a pod's container into the runtime's spec.
func (k *Kubelet) containerSpec(pod *corev1.Pod, st *podState, c *corev1.Container, attempt int) (runtime.ContainerSpec, error) {
	spec := runtime.ContainerSpec{
		ID:         containerID(string(pod.UID), c.Name, attempt),
		Image:      c.Image,
		Labels:     containerLabels(pod, c.Name, attempt),
		Command:    c.Command,
		Args:       c.Args,
		WorkingDir: c.WorkingDir,
		NetNSPath:  st.ns.Net,
		IPCNSPath:  st.ns.IPC,
		UTSNSPath:  st.ns.UTS,
		Hostname:   podHostname(pod),
	}
	hostIP := ""
	if ip := k.hostIP.Load(); ip != nil {
		hostIP = *ip
	}
	vars, err := env.Resolve(pod, c, env.Inputs{
		PodIP: st.podIP, PodIPs: []string{st.podIP}, HostIP: hostIP, NodeName: k.opts.NodeName,
		ConfigMap: k.getConfigMap, Secret: k.getSecret,
	})
	if err != nil {
		return spec, err
	}
	spec.Env = vars
	spec.Command, spec.Args = env.Expand(c.Command, vars), env.Expand(c.Args, vars)
	if spec.Mounts, err = k.containerMounts(pod, st, c); err != nil {
		return spec, err
	}
	if lim := c.Resources.Limits; lim != nil {
		if cpu, ok := lim[corev1.ResourceCPU]; ok {
			spec.CPUPeriod = 100000
			spec.CPUQuota = max(cpu.MilliValue()*100, 1000)
		}
		if mem, ok := lim[corev1.ResourceMemory]; ok {
			spec.MemoryLimit = mem.Value()
		}
	}
	if req, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		spec.CPUShares = uint64(max(req.MilliValue()*1024/1000, 2))
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		spec.RunAsUser, spec.RunAsGroup = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			spec.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			spec.RunAsGroup = sc.RunAsGroup
		}
		spec.ReadOnlyRootFS = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		spec.Privileged = sc.Privileged != nil && *sc.Privileged
	}
	if k.opts.LogContainers {
		spec.LogPath = filepath.Join(k.podDir(string(pod.UID)), "logs", c.Name, strconv.Itoa(attempt)+".log")
		spec.LogMaxSize = 10 << 20
	}
	return spec, nil
}

// firstProbeDelay is how long after a container's start its first probe
// runs at the earliest. The kubelet's probe workers see a new container
// only at their next relist, up to a second later.
const firstProbeDelay = 100 * time.Millisecond

// probeContainers runs the due probes of the running containers and stops
// those whose startup or liveness probe failed, for decide to restart.
func (k *Kubelet) probeContainers(ctx context.Context, pod *corev1.Pod, st *podState, latest map[string]record, now time.Time) {
	live := map[string]bool{}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		r, ok := latest[c.Name]
		if !ok || r.status.State != runtime.StateRunning {
			continue
		}
		live[r.status.ID] = true
		if due := r.status.StartedAt.Add(firstProbeDelay); now.Before(due) && (c.StartupProbe != nil || c.ReadinessProbe != nil) {
			// Just started: a probe now would mostly find the
			// process not listening yet, and the next one is a
			// whole period away. Pass again in a moment instead.
			if st.wakeAt.IsZero() || due.Before(st.wakeAt) {
				st.wakeAt = due
			}
			continue
		}
		cp := st.probes[r.status.ID]
		if cp == nil {
			cp = k.newContainerProbes(c, k.probeTarget(r.status.ID, st.podIP))
			st.probes[r.status.ID] = cp
		}
		restart, why := cp.step(ctx, r.status.StartedAt)
		if restart {
			k.log.Info("restarting container", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "reason", why)
			k.events.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "Container %s %s, will be restarted", c.Name, why)
			if err := k.rt.StopContainer(ctx, r.status.ID, gracePeriod(pod)); err != nil {
				k.log.Warn("stop container", "container", r.status.ID, "err", err)
			}
		}
	}
	for id := range st.probes {
		if !live[id] {
			delete(st.probes, id)
		}
	}
}
