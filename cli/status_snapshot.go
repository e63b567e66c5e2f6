package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// Health values of workloads, as GitSource status uses them.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
)

// Snapshot is what `berth status` shows, computed from the cluster's objects at one
// moment. It is also what `berth status -o json|yaml` prints.
type Snapshot struct {
	// Sources are the GitSources, by namespace and name.
	Sources []SourceStatus `json:"sources"`
	// Nodes are the nodes, by name.
	Nodes []NodeStatus `json:"nodes"`
	// Workloads are by namespace, then Deployments, StatefulSets, DaemonSets and
	// Jobs, then name.
	Workloads []WorkloadStatus `json:"workloads"`
	// Warnings are the recent Warning events, newest first.
	Warnings []WarningEvent `json:"warnings"`
}

// SourceStatus is one GitSource.
type SourceStatus struct {
	// Namespace and Name name the GitSource; URL is its repository's.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	// Ref is "branch main", "tag v1" or "commit 1a2b3c".
	Ref string `json:"ref"`
	// Path is the directory of the manifests in the repository.
	Path string `json:"path,omitempty"`
	// Revision is the commit last fetched, Subject its commit message's subject.
	Revision string `json:"revision,omitempty"`
	Subject  string `json:"subject,omitempty"`
	// AppliedRevision is the commit whose manifests are live.
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// Phase, Health and Message are the GitSource status's.
	Phase   string `json:"phase,omitempty"`
	Health  string `json:"health,omitempty"`
	Message string `json:"message,omitempty"`
	// Suspended says syncing is stopped.
	Suspended bool `json:"suspended,omitempty"`
	// LastSync is when the last sync finished (nil: never).
	LastSync *time.Time `json:"lastSync,omitempty"`
	// Drift lists the objects changed outside git: "Deployment shop/web: spec.replicas".
	Drift []string `json:"drift,omitempty"`
	// LastError is the last sync error in full; Errors every error of the last
	// revision tried.
	LastError string   `json:"lastError,omitempty"`
	Errors    []string `json:"errors,omitempty"`
}

// NodeStatus is one node: readiness, and what its pods request of what it offers.
type NodeStatus struct {
	// Name is the node's; Ready its Ready condition; Unschedulable its cordon.
	Name          string `json:"name"`
	Ready         bool   `json:"ready"`
	Unschedulable bool   `json:"unschedulable,omitempty"`
	// Pods counts the pods bound to the node that have not finished.
	Pods int `json:"pods"`
	// PodCapacity is how many pods the node takes.
	PodCapacity int64 `json:"podCapacity"`
	// CPU and memory requested by those pods, of what the node can allocate.
	CPURequested   resource.Quantity `json:"cpuRequested"`
	CPUAllocatable resource.Quantity `json:"cpuAllocatable"`
	MemRequested   resource.Quantity `json:"memoryRequested"`
	MemAllocatable resource.Quantity `json:"memoryAllocatable"`
}

// WorkloadStatus is one Deployment, StatefulSet, DaemonSet or Job.
type WorkloadStatus struct {
	// Namespace, Kind and Name name the workload.
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Ready of Desired pods are ready (a Job: succeeded of completions).
	Ready   int32 `json:"ready"`
	Desired int32 `json:"desired"`
	// UpToDate counts the pods of the current template.
	UpToDate int32 `json:"upToDate"`
	// Health is Healthy, Progressing or Degraded; Message says why when not healthy.
	Health  string `json:"health"`
	Message string `json:"message,omitempty"`
}

// WarningEvent is one recent Warning event.
type WarningEvent struct {
	// Namespace is the event's; Object names what it is about ("pod/web-1").
	Namespace string `json:"namespace"`
	Object    string `json:"object"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
	// Count is how many times it happened; Last when it last did.
	Count int32     `json:"count"`
	Last  time.Time `json:"last"`
}

// SnapshotInput are the objects a Snapshot is computed from.
type SnapshotInput struct {
	// Now bounds "recent": Warning events older than WarningWindow are left out.
	Now time.Time
	// The objects, in any order.
	Sources      []berthv1.GitSource
	Nodes        []corev1.Node
	Pods         []corev1.Pod
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	DaemonSets   []appsv1.DaemonSet
	Jobs         []batchv1.Job
	Events       []corev1.Event
}

// Limits of the warnings shown.
const (
	// WarningWindow is how old a Warning event may be and still be shown.
	WarningWindow = time.Hour
	// MaxWarnings is how many Warning events are shown at most.
	MaxWarnings = 10
	// maxDrift is how many drifted objects are listed per source.
	maxDrift = 10
)

// NewSnapshot computes the status screen's content from the objects.
func NewSnapshot(in SnapshotInput) Snapshot {
	s := Snapshot{Sources: []SourceStatus{}, Nodes: []NodeStatus{}, Workloads: []WorkloadStatus{}, Warnings: []WarningEvent{}}
	for i := range in.Sources {
		s.Sources = append(s.Sources, sourceStatus(&in.Sources[i]))
	}
	sort.Slice(s.Sources, func(i, j int) bool {
		return s.Sources[i].Namespace+"/"+s.Sources[i].Name < s.Sources[j].Namespace+"/"+s.Sources[j].Name
	})
	s.Nodes = nodeStatuses(in.Nodes, in.Pods)
	for i := range in.Deployments {
		s.Workloads = append(s.Workloads, deploymentStatus(&in.Deployments[i]))
	}
	for i := range in.StatefulSets {
		s.Workloads = append(s.Workloads, statefulSetStatus(&in.StatefulSets[i]))
	}
	for i := range in.DaemonSets {
		s.Workloads = append(s.Workloads, daemonSetStatus(&in.DaemonSets[i]))
	}
	for i := range in.Jobs {
		s.Workloads = append(s.Workloads, jobStatus(&in.Jobs[i]))
	}
	order := map[string]int{"Deployment": 0, "StatefulSet": 1, "DaemonSet": 2, "Job": 3}
	sort.SliceStable(s.Workloads, func(i, j int) bool {
		a, b := s.Workloads[i], s.Workloads[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return order[a.Kind] < order[b.Kind]
		}
		return a.Name < b.Name
	})
	s.Warnings = warnings(in.Events, in.Now)
	return s
}

// sourceStatus summarises a GitSource.
func sourceStatus(g *berthv1.GitSource) SourceStatus {
	st := g.Status
	out := SourceStatus{
		Namespace: g.Namespace, Name: g.Name, URL: g.Spec.URL, Path: g.Spec.Path,
		Revision: st.Revision, Subject: st.RevisionMessage, AppliedRevision: st.AppliedRevision,
		Phase: st.Phase, Health: st.Health, Message: st.Message, Suspended: g.Spec.Suspend,
		LastError: st.LastError, Errors: st.Errors,
	}
	switch {
	case g.Spec.Commit != "":
		out.Ref = "commit " + g.Spec.Commit
	case g.Spec.Tag != "":
		out.Ref = "tag " + g.Spec.Tag
	default:
		out.Ref = "branch " + g.Spec.Branch
	}
	if st.LastSyncTime != nil {
		t := st.LastSyncTime.UTC()
		out.LastSync = &t
	}
	for _, o := range st.Objects {
		if len(o.Drift) == 0 && o.State != "out-of-sync" {
			continue
		}
		name := o.Name
		if o.Namespace != "" {
			name = o.Namespace + "/" + o.Name
		}
		d := o.Kind + " " + name
		if len(o.Drift) > 0 {
			d += ": " + strings.Join(o.Drift, ", ")
		}
		out.Drift = append(out.Drift, d)
	}
	return out
}

// nodeStatuses sums the requests of each node's unfinished pods.
func nodeStatuses(nodes []corev1.Node, pods []corev1.Pod) []NodeStatus {
	byNode := map[string]*NodeStatus{}
	out := make([]NodeStatus, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		ns := &out[i]
		ns.Name, ns.Unschedulable = n.Name, n.Spec.Unschedulable
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ns.Ready = c.Status == corev1.ConditionTrue
			}
		}
		ns.PodCapacity = n.Status.Allocatable.Pods().Value()
		ns.CPUAllocatable = n.Status.Allocatable.Cpu().DeepCopy()
		ns.MemAllocatable = n.Status.Allocatable.Memory().DeepCopy()
		ns.CPURequested = *resource.NewMilliQuantity(0, resource.DecimalSI)
		ns.MemRequested = *resource.NewQuantity(0, resource.BinarySI)
		byNode[n.Name] = ns
	}
	for i := range pods {
		p := &pods[i]
		ns := byNode[p.Spec.NodeName]
		if ns == nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ns.Pods++
		req := podRequests(p)
		ns.CPURequested.Add(req[corev1.ResourceCPU])
		ns.MemRequested.Add(req[corev1.ResourceMemory])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// podRequests is what a pod asks for, as the scheduler counts it: the larger of
// its containers' sum and its largest init container, plus overhead.
func podRequests(p *corev1.Pod) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		addList(sum, c.Resources.Requests)
	}
	for _, c := range p.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if cur, ok := sum[name]; !ok || q.Cmp(cur) > 0 {
				sum[name] = q.DeepCopy()
			}
		}
	}
	addList(sum, p.Spec.Overhead)
	return sum
}

// addList adds b into a.
func addList(a, b corev1.ResourceList) {
	for name, q := range b {
		cur := a[name]
		cur.Add(q)
		a[name] = cur
	}
}

// deploymentStatus is healthy once every replica is updated and available.
func deploymentStatus(d *appsv1.Deployment) WorkloadStatus {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	w := WorkloadStatus{Namespace: d.Namespace, Kind: "Deployment", Name: d.Name, Ready: d.Status.ReadyReplicas, Desired: desired, UpToDate: d.Status.UpdatedReplicas}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse ||
			c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			w.Health, w.Message = Degraded, c.Message
			return w
		}
	}
	w.Health, w.Message = rollout(d.Generation, d.Status.ObservedGeneration, desired, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.Replicas)
	return w
}

// statefulSetStatus is healthy once every replica is updated and ready.
func statefulSetStatus(s *appsv1.StatefulSet) WorkloadStatus {
	desired := int32(1)
	if s.Spec.Replicas != nil {
		desired = *s.Spec.Replicas
	}
	w := WorkloadStatus{Namespace: s.Namespace, Kind: "StatefulSet", Name: s.Name, Ready: s.Status.ReadyReplicas, Desired: desired, UpToDate: s.Status.UpdatedReplicas}
	w.Health, w.Message = rollout(s.Generation, s.Status.ObservedGeneration, desired, s.Status.UpdatedReplicas, s.Status.ReadyReplicas, s.Status.Replicas)
	return w
}

// daemonSetStatus is healthy once every scheduled pod is updated and available.
func daemonSetStatus(d *appsv1.DaemonSet) WorkloadStatus {
	s := d.Status
	w := WorkloadStatus{Namespace: d.Namespace, Kind: "DaemonSet", Name: d.Name, Ready: s.NumberReady, Desired: s.DesiredNumberScheduled, UpToDate: s.UpdatedNumberScheduled}
	w.Health, w.Message = rollout(d.Generation, s.ObservedGeneration, s.DesiredNumberScheduled, s.UpdatedNumberScheduled, s.NumberAvailable, s.CurrentNumberScheduled)
	return w
}

// rollout judges a rolling workload: Progressing while the controller has not
// seen the spec or pods are not yet updated and available, else Healthy.
func rollout(generation, observed int64, desired, updated, available, total int32) (health, message string) {
	switch {
	case observed < generation:
		return Progressing, "waiting for the controller to see the new spec"
	case updated < desired:
		return Progressing, fmt.Sprintf("%d of %d updated", updated, desired)
	case total > updated:
		return Progressing, fmt.Sprintf("%d old pods pending termination", total-updated)
	case available < desired:
		return Progressing, fmt.Sprintf("%d of %d available", available, desired)
	}
	return Healthy, ""
}

// jobStatus is healthy when complete, degraded when failed.
func jobStatus(j *batchv1.Job) WorkloadStatus {
	completions := int32(1)
	if j.Spec.Completions != nil {
		completions = *j.Spec.Completions
	}
	w := WorkloadStatus{Namespace: j.Namespace, Kind: "Job", Name: j.Name, Ready: j.Status.Succeeded, Desired: completions, UpToDate: j.Status.Succeeded, Health: Progressing}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			w.Health, w.Message = Healthy, ""
			return w
		case batchv1.JobFailed:
			w.Health, w.Message = Degraded, c.Message
			if w.Message == "" {
				w.Message = c.Reason
			}
			return w
		}
	}
	w.Message = fmt.Sprintf("%d active, %d succeeded, %d failed", j.Status.Active, j.Status.Succeeded, j.Status.Failed)
	return w
}

// warnings picks the Warning events of the last WarningWindow, newest first, at
// most MaxWarnings.
func warnings(events []corev1.Event, now time.Time) []WarningEvent {
	out := []WarningEvent{}
	for i := range events {
		e := &events[i]
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		t := EventTime(e)
		if now.Sub(t) > WarningWindow {
			continue
		}
		out = append(out, WarningEvent{
			Namespace: e.Namespace, Object: EventObject(e), Reason: e.Reason,
			Message: strings.TrimSpace(e.Message), Count: max(eventCount(e), 1), Last: t.UTC(),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Namespace+out[i].Object+out[i].Reason < out[j].Namespace+out[j].Object+out[j].Reason
	})
	if len(out) > MaxWarnings {
		out = out[:MaxWarnings]
	}
	return out
}
