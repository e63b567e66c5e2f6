package kubelet

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// fakeRuntime keeps containers in memory. Its limits: no processes, so a
// container runs until the test calls exit; Exec exits with execCodes in
// turn, then 0.
type fakeRuntime struct {
	now    func() time.Time
	images map[string]bool // normalized refs present

	mu         sync.Mutex // guards the fields below
	containers map[string]*runtime.ContainerStatus
	order      []string
	down       bool
	stopped    []string
	execCodes  []int
}

var _ runtime.Runtime = (*fakeRuntime)(nil)

func newFakeRuntime(now func() time.Time, images ...string) *fakeRuntime {
	f := &fakeRuntime{now: now, images: map[string]bool{}, containers: map[string]*runtime.ContainerStatus{}}
	for _, i := range images {
		f.images[i] = true
	}
	return f
}

func (f *fakeRuntime) ImportImages(context.Context, string) ([]string, error) { return nil, nil }

func (f *fakeRuntime) EnsureImage(_ context.Context, ref string, _ corev1.PullPolicy) (string, error) {
	if !f.images[ref] {
		return "", fmt.Errorf("%s: %w: not found", ref, runtime.ErrImagePull)
	}
	return "sha256:" + ref, nil
}

func (f *fakeRuntime) CreateContainer(_ context.Context, spec runtime.ContainerSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[spec.ID]; ok {
		return fmt.Errorf("container %s exists", spec.ID)
	}
	image, err := runtime.NormalizeImage(spec.Image)
	if err != nil {
		return err
	}
	f.containers[spec.ID] = &runtime.ContainerStatus{ID: spec.ID, State: runtime.StateCreated, Image: image,
		Labels: maps.Clone(spec.Labels), CreatedAt: f.now()}
	f.order = append(f.order, spec.ID)
	return nil
}

func (f *fakeRuntime) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return runtime.ErrContainerNotFound
	}
	c.State, c.StartedAt = runtime.StateRunning, f.now()
	return nil
}

// exit makes a running container exit with code.
func (f *fakeRuntime) exit(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.State, c.ExitCode, c.FinishedAt = runtime.StateExited, code, f.now()
	c.Reason = runtime.ReasonError
}

// oomKill makes a running container exit as the kernel's OOM killer
// leaves it: SIGKILLed, exit code 137, reason OOMKilled.
func (f *fakeRuntime) oomKill(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.State, c.ExitCode, c.FinishedAt = runtime.StateExited, 137, f.now()
	c.OOMKilled, c.Reason = true, runtime.ReasonOOMKilled
}

func (f *fakeRuntime) StopContainer(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, id)
	if c, ok := f.containers[id]; ok && c.State == runtime.StateRunning {
		c.State, c.ExitCode, c.FinishedAt = runtime.StateExited, 143, f.now()
	}
	return nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, id string) (runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return runtime.ContainerStatus{}, runtime.ErrContainerNotFound
	}
	return *c, nil
}

func (f *fakeRuntime) WaitContainer(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	return f.ContainerStatus(ctx, id)
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	f.order = slices.DeleteFunc(f.order, func(s string) bool { return s == id })
	return nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, labels map[string]string) ([]runtime.ContainerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("connection refused")
	}
	var out []runtime.ContainerInfo
	for _, id := range f.order {
		c := f.containers[id]
		match := true
		for k, v := range labels {
			match = match && c.Labels[k] == v
		}
		if match {
			out = append(out, runtime.ContainerInfo{ID: id, Image: c.Image, Labels: maps.Clone(c.Labels), CreatedAt: c.CreatedAt})
		}
	}
	return out, nil
}

func (f *fakeRuntime) Exec(context.Context, string, []string, time.Duration) (int, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.execCodes) == 0 {
		return 0, nil, nil
	}
	code := f.execCodes[0]
	f.execCodes = f.execCodes[1:]
	return code, nil, nil
}

// ids lists the containers' IDs, oldest first.
func (f *fakeRuntime) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// fakeNetwork hands out 10.42.0.2 and on, and tracks what is set up.
type fakeNetwork struct {
	mu   sync.Mutex
	next int
	up   map[string]bool
}

func (n *fakeNetwork) Setup(_ context.Context, pod network.Pod) (network.Result, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.up[pod.UID] {
		return network.Result{}, network.ErrAlreadySetUp
	}
	n.up[pod.UID] = true
	n.next++
	return network.Result{IP: netip.AddrFrom4([4]byte{10, 42, 0, byte(1 + n.next)})}, nil
}

func (n *fakeNetwork) Teardown(_ context.Context, pod network.Pod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.up, pod.UID)
	return nil
}

// fakePins pins nothing; it remembers which namespace paths are "pinned".
type fakePins struct {
	mu  sync.Mutex
	net map[string]bool // by Namespaces.Net
}

func (p *fakePins) pin(dir, uid, _ string) (network.Namespaces, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ns := network.NamespacePaths(dir, uid)
	p.net[ns.Net] = true
	return ns, nil
}

func (p *fakePins) pinned(ns network.Namespaces) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.net[ns.Net]
}

func (p *fakePins) remove(ns network.Namespaces) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.net, ns.Net)
	return nil
}
