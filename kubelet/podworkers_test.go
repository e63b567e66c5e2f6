package kubelet

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// workerHarness is a Kubelet on fakes: a fake clientset, runtime, network
// and namespace pins, a settable clock, and a lister the test fills.
type workerHarness struct {
	t       *testing.T
	k       *Kubelet
	rt      *fakeRuntime
	net     *fakeNetwork
	pins    *fakePins
	client  *fake.Clientset
	indexer cache.Indexer
	now     time.Time
	st      *podState
}

func newWorkerHarness(t *testing.T, pod *corev1.Pod, images ...string) *workerHarness {
	h := &workerHarness{t: t, now: t0, client: fake.NewSimpleClientset(pod), st: newPodState()}
	h.rt = newFakeRuntime(func() time.Time { return h.now }, images...)
	k, err := New(Options{
		NodeName: "n1", Client: h.client, DataDir: t.TempDir(), Runtime: h.rt,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return h.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.net = &fakeNetwork{up: map[string]bool{}}
	h.pins = &fakePins{net: map[string]bool{}}
	k.net, k.pins = h.net, h.pins
	h.indexer = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	k.lister = corelisters.NewPodLister(h.indexer)
	h.k = k
	return h
}

// sync runs one pass of the worker on the API's current pod and returns
// whether the worker is done, and the pod as the API has it after.
func (h *workerHarness) sync(name string) (bool, *corev1.Pod) {
	h.t.Helper()
	ctx := context.Background()
	pod, err := h.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get pod: %v", err)
	}
	done := h.k.syncPod(ctx, pod, h.st)
	after, err := h.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return done, nil
	}
	if err != nil {
		h.t.Fatalf("get pod: %v", err)
	}
	return done, after
}

func workerPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "0b5e2f7c-4a8d-4d7e-9a59-6b1c2d3e4f50"},
		Spec: corev1.PodSpec{
			NodeName: "n1",
			Containers: []corev1.Container{
				{Name: "app", Image: "app:v1", Env: []corev1.EnvVar{{Name: "A", Value: "1"}}},
				{Name: "pull", Image: "missing:v1"},
			},
		},
	}
}

func waiting(p *corev1.Pod, i int) string {
	if w := p.Status.ContainerStatuses[i].State.Waiting; w != nil {
		return w.Reason
	}
	return ""
}

func TestWorkerStartsRestartsAndDeletes(t *testing.T) {
	h := newWorkerHarness(t, workerPod(), "app:v1")
	uid := "0b5e2f7c-4a8d-4d7e-9a59-6b1c2d3e4f50"

	_, p := h.sync("p")
	if got := h.rt.ids(); len(got) != 1 || got[0] != uid+"-app-0" {
		t.Fatalf("containers after the first pass: %v", got)
	}
	if p.Status.PodIP != "10.42.0.2" || p.Status.ContainerStatuses[0].State.Running == nil || waiting(p, 1) != "ErrImagePull" {
		t.Fatalf("status after the first pass: %+v", p.Status)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s with one container never started, want Pending", p.Status.Phase)
	}

	h.now = h.now.Add(time.Second)
	_, p = h.sync("p")
	if waiting(p, 1) != "ImagePullBackOff" {
		t.Errorf("second pass: pull container waits with %q, want ImagePullBackOff", waiting(p, 1))
	}

	// The app crashes: it waits out its backoff, then its next attempt runs
	// and the old one is removed.
	h.rt.exit(uid+"-app-0", 1)
	h.now = h.now.Add(time.Second)
	_, p = h.sync("p")
	if waiting(p, 0) != "CrashLoopBackOff" || p.Status.ContainerStatuses[0].LastTerminationState.Terminated == nil {
		t.Fatalf("after a crash: %+v", p.Status.ContainerStatuses[0])
	}
	h.now = h.now.Add(11 * time.Second) // past the first crash-loop backoff, 10s
	h.sync("p")
	_, p = h.sync("p")
	// The attempt before the newest is kept for lastState.
	if got := h.rt.ids(); len(got) != 2 || got[1] != uid+"-app-1" {
		t.Fatalf("containers after the restart: %v", got)
	}
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 1 || cs.State.Running == nil ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("after the restart: %+v", cs)
	}

	// Deletion: containers stopped and removed, network and namespaces
	// gone, the pod deleted.
	ctx := context.Background()
	cur, _ := h.client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	now := metav1.NewTime(h.now)
	grace := int64(5)
	cur.DeletionTimestamp, cur.DeletionGracePeriodSeconds = &now, &grace
	if _, err := h.client.CoreV1().Pods("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	done, p := h.sync("p")
	if !done || p != nil {
		t.Fatalf("deletion: done %v, pod %v", done, p)
	}
	if ids := h.rt.ids(); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
	if len(h.rt.stopped) != 1 || len(h.net.up) != 0 || len(h.pins.net) != 0 {
		t.Errorf("stopped %v, network up %v, pinned %v", h.rt.stopped, h.net.up, h.pins.net)
	}
}

func TestWorkerAdoptsRunningContainers(t *testing.T) {
	pod := workerPod()
	pod.Spec.Containers = pod.Spec.Containers[:1]
	h := newWorkerHarness(t, pod, "app:v1")
	_, first := h.sync("p")
	started := first.Status.ContainerStatuses[0].State.Running.StartedAt

	// A new kubelet (fresh worker state) on the same runtime and network.
	h.st = newPodState()
	h.now = h.now.Add(time.Minute)
	_, p := h.sync("p")
	cs := p.Status.ContainerStatuses[0]
	if len(h.rt.ids()) != 1 || cs.RestartCount != 0 || !cs.State.Running.StartedAt.Equal(&started) || p.Status.PodIP != first.Status.PodIP {
		t.Errorf("after a kubelet restart: containers %v, status %+v, podIP %s (was %s)", h.rt.ids(), cs, p.Status.PodIP, first.Status.PodIP)
	}
}

func TestWorkerLivenessFailureRestarts(t *testing.T) {
	pod := workerPod()
	pod.Spec.Containers = pod.Spec.Containers[:1]
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}}
	h := newWorkerHarness(t, pod, "app:v1")
	h.rt.execCodes = []int{1}
	h.sync("p")
	h.now = h.now.Add(time.Second)
	h.sync("p")
	if len(h.rt.stopped) != 1 {
		t.Fatalf("stopped %v after a failed liveness probe, want the container", h.rt.stopped)
	}
	h.now = h.now.Add(11 * time.Second) // past the first crash-loop backoff, 10s
	h.sync("p")
	if ids := h.rt.ids(); len(ids) != 2 || ids[1] != string(pod.UID)+"-app-1" {
		t.Errorf("containers after the liveness restart: %v", ids)
	}
}

func TestNodeNotReadyWhenRuntimeDown(t *testing.T) {
	h := newWorkerHarness(t, workerPod())
	ctx := context.Background()
	if _, err := h.k.register(ctxWithCIDR(t, h)); err != nil {
		t.Fatal(err)
	}
	h.rt.mu.Lock()
	h.rt.down = true
	h.rt.mu.Unlock()
	h.k.postNodeStatus(ctx)
	n, _ := h.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	c := n.Status.Conditions[len(n.Status.Conditions)-1]
	if c.Type != corev1.NodeReady || c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" {
		t.Errorf("Ready condition with the runtime down: %+v", c)
	}
	if _, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{}); err != nil {
		t.Errorf("lease: %v", err)
	}
}

// ctxWithCIDR gives the node a pod CIDR as the server would, so that
// register returns.
func ctxWithCIDR(t *testing.T, h *workerHarness) context.Context {
	ctx := context.Background()
	_, err := h.client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.0.0/24"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func TestWorkerHostNetworkPod(t *testing.T) {
	pod := workerPod()
	pod.Spec.HostNetwork = true
	pod.Spec.Containers = pod.Spec.Containers[:1]
	h := newWorkerHarness(t, pod, "app:v1")
	ip := "192.168.234.10"
	h.k.hostIP.Store(&ip)
	_, p := h.sync("p")
	if p.Status.PodIP != ip || len(h.net.up) != 0 || len(h.rt.ids()) != 1 {
		t.Errorf("hostNetwork pod: podIP %q, CNI set up %v, containers %v", p.Status.PodIP, h.net.up, h.rt.ids())
	}
}

func TestCheckCNIPlugins(t *testing.T) {
	dir := t.TempDir()
	err := checkCNIPlugins([]string{dir})
	if err == nil || !strings.Contains(err.Error(), "containernetworking-plugins") || !strings.Contains(err.Error(), "bridge") {
		t.Errorf("no plugins: %v", err)
	}
}

func TestGarbageCollectionRemovesOrphans(t *testing.T) {
	pod := workerPod()
	pod.Spec.Containers = pod.Spec.Containers[:1]
	h := newWorkerHarness(t, pod, "app:v1")
	h.sync("p") // a container and a sandbox for the pod
	kept := pod.DeepCopy()
	kept.UID, kept.Name = "1c6f3a8d-5b9e-4e8f-8b6a-7c2d3e4f5a61", "kept"
	if err := h.indexer.Add(kept); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.rt.CreateContainer(ctx, runtimeSpecFor(kept)); err != nil {
		t.Fatal(err)
	}
	// The pod p is not in the lister (gone from the API) and has no worker.
	h.k.collectGarbage(ctx)
	if ids := h.rt.ids(); len(ids) != 1 || ids[0] != string(kept.UID)+"-app-0" {
		t.Errorf("containers after garbage collection: %v, want only the kept pod's", ids)
	}
	if len(h.net.up) != 0 || len(h.pins.net) != 0 {
		t.Errorf("orphan's sandbox left: network %v, pins %v", h.net.up, h.pins.net)
	}
}

// runtimeSpecFor is a container spec of pod's first container, attempt 0.
func runtimeSpecFor(pod *corev1.Pod) runtime.ContainerSpec {
	c := pod.Spec.Containers[0]
	return runtime.ContainerSpec{ID: containerID(string(pod.UID), c.Name, 0), Image: c.Image, Labels: containerLabels(pod, c.Name, 0)}
}

func TestWorkerRestartsOnImageUpdate(t *testing.T) {
	pod := workerPod()
	pod.Spec.Containers = pod.Spec.Containers[:1]
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	h := newWorkerHarness(t, pod, "app:v1", "app:v2")
	h.sync("p")
	ctx := context.Background()
	cur, _ := h.client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	cur.Spec.Containers[0].Image = "app:v2"
	if _, err := h.client.CoreV1().Pods("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("p") // stops the v1 container
	_, p := h.sync("p")
	if ids := h.rt.ids(); len(h.rt.stopped) != 1 || len(ids) != 2 || ids[1] != string(pod.UID)+"-app-1" {
		t.Fatalf("after the image update: stopped %v, containers %v", h.rt.stopped, ids)
	}
	if cs := p.Status.ContainerStatuses[0]; cs.State.Running == nil || cs.Image != "docker.io/library/app:v2" {
		t.Errorf("after the image update: %+v", cs)
	}
}
