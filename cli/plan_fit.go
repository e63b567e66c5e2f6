package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/sync"
)

// planWorkload is what the fit check needs of a workload: the pod its template
// makes, how many of them, and the selector of the pods it already runs.
type planWorkload struct {
	pod       *corev1.Pod
	replicas  int    // pods at once; -1 for a DaemonSet: one per node
	selector  string // label selector of its pods; "" for a bare Pod
	isPod     bool
	templated bool // the pod comes from a template (not a bare Pod)
}

// planFitCheck places the pods that a plan's actions make on a copy of the
// nodes as they are (with their pods' requests), one by one with the
// scheduler's own filters and scores, in the plan's order. Pods of workloads
// the plan deletes or whose template it changes are taken off first. It
// returns the workloads whose pods would not all fit.
func planFitCheck(actions []sync.Action, changes map[sync.ID][]PlanFieldChange, nodes []*corev1.Node, pods []*corev1.Pod) ([]PlanFit, error) {
	snap := scheduler.NewSnapshot(nodes, pods)
	type todo struct {
		a     sync.Action
		w     *planWorkload
		count int
	}
	var place []todo
	for _, a := range actions {
		if a.Kind == nil || a.Type == sync.Unchanged {
			continue
		}
		var live *planWorkload
		if a.Live != nil {
			w, err := planWorkloadOf(a.Kind, a.Live)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.ID, err)
			}
			live = w
		}
		templateChanged := planTouches(changes[a.ID], "spec.template")
		if live != nil && (a.Type == sync.Delete || templateChanged) {
			planRemovePods(snap, a.ID.Namespace, a.ID.Name, live)
		}
		if a.Type != sync.Create && a.Type != sync.Update {
			continue
		}
		w, err := planWorkloadOf(a.Kind, a.Desired)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", a.File, a.Line, a.ID, err)
		}
		if w == nil {
			continue
		}
		count := w.replicas
		switch {
		case a.Type == sync.Create || templateChanged && w.templated:
		case live != nil && w.replicas > live.replicas && live.replicas >= 0:
			count = w.replicas - live.replicas // scaled up: the old pods stay
		default:
			continue
		}
		if count != 0 {
			place = append(place, todo{a, w, count})
		}
	}
	var out []PlanFit
	for _, p := range place {
		var f *PlanFit
		if p.count < 0 {
			f = planPlaceDaemon(snap, p.w.pod)
		} else {
			f = planPlace(snap, p.w.pod, p.count)
		}
		if f != nil {
			f.Object, f.File, f.Line = p.a.ID.String(), p.a.File, p.a.Line
			out = append(out, *f)
		}
	}
	return out, nil
}

// planTouches says whether a change is at or below path.
func planTouches(changes []PlanFieldChange, path string) bool {
	for _, c := range changes {
		if c.Path == path || strings.HasPrefix(c.Path, path+".") || strings.HasPrefix(c.Path, path+"[") {
			return true
		}
	}
	return false
}

// planWorkloadOf reads a workload (defaulted as the API server will) or a Pod;
// nil for other kinds.
func planWorkloadOf(k *registry.Kind, u *unstructured.Unstructured) (*planWorkload, error) {
	switch k.GroupVersionKind() {
	case registry.Pods().GroupVersionKind(), registry.Deployments().GroupVersionKind(), registry.ReplicaSets().GroupVersionKind(),
		registry.DaemonSets().GroupVersionKind(), registry.Jobs().GroupVersionKind():
	default:
		return nil, nil
	}
	obj := k.New()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if k.Default != nil {
		k.Default(obj)
	}
	w := &planWorkload{templated: true}
	var tmpl *corev1.PodTemplateSpec
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *corev1.Pod:
		w.pod, w.replicas, w.isPod, w.templated = o.DeepCopy(), 1, true, false
	case *appsv1.Deployment:
		tmpl, sel, w.replicas = &o.Spec.Template, o.Spec.Selector, int(ptrOr(o.Spec.Replicas, 1))
	case *appsv1.ReplicaSet:
		tmpl, sel, w.replicas = &o.Spec.Template, o.Spec.Selector, int(ptrOr(o.Spec.Replicas, 1))
	case *appsv1.DaemonSet:
		tmpl, sel, w.replicas = &o.Spec.Template, o.Spec.Selector, -1
	case *batchv1.Job:
		tmpl, sel = &o.Spec.Template, o.Spec.Selector
		w.replicas = int(ptrOr(o.Spec.Parallelism, 1))
		if c := o.Spec.Completions; c != nil && int(*c) < w.replicas {
			w.replicas = int(*c)
		}
		if sel == nil { // the server selects the Job's pods by its controller-uid
			sel = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": string(o.UID)}}
		}
	default:
		return nil, nil
	}
	if tmpl != nil {
		w.pod = &corev1.Pod{ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
		w.pod.Namespace = u.GetNamespace()
		w.pod.Name = u.GetName()
		if sel != nil {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				return nil, fmt.Errorf("spec.selector: %w", err)
			}
			w.selector = s.String()
		}
	}
	registry.Pods().Default(w.pod) // requests copied from limits, as for a real pod
	return w, nil
}

// ptrOr is *p, or def when p is nil.
func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// planRemovePods takes a workload's pods off the snapshot: those its selector
// matches in its namespace, or the Pod itself.
func planRemovePods(snap *scheduler.Snapshot, ns, name string, w *planWorkload) {
	var sel labels.Selector
	if !w.isPod {
		if w.selector == "" {
			return
		}
		s, err := labels.Parse(w.selector)
		if err != nil {
			return
		}
		sel = s
	}
	for _, ni := range snap.Nodes {
		var gone []*corev1.Pod
		for _, p := range ni.Pods {
			if p.Namespace != ns {
				continue
			}
			if w.isPod && p.Name == name || sel != nil && sel.Matches(labels.Set(p.Labels)) {
				gone = append(gone, p)
			}
		}
		for _, p := range gone {
			ni.Remove(p)
		}
	}
}

// planPlace places count copies of pod one by one, each counted on its node for
// the next; it reports how many fit nowhere, and why the first of them did not.
func planPlace(snap *scheduler.Snapshot, pod *corev1.Pod, count int) *PlanFit {
	target := snap
	if n := pod.Spec.NodeName; n != "" { // bound already: its node or nothing
		target = &scheduler.Snapshot{Nodes: map[string]*scheduler.NodeInfo{}}
		if ni := snap.Nodes[n]; ni != nil {
			target.Nodes[n] = ni
		}
	}
	unfit, why, free := 0, "", ""
	for i := range count {
		p := planPodCopy(pod, i)
		node, reason := scheduler.Place(p, target)
		if node == "" {
			if unfit == 0 {
				why = reason
				if strings.Contains(reason, "Insufficient") { // the free room says why
					free = planFree(target, pod)
				}
			}
			unfit++
			continue
		}
		target.Nodes[node].Add(p)
	}
	if unfit == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d pods would not fit", unfit, count)
	if count == 1 {
		msg = "the pod would not fit"
	}
	if need := planNeeds(pod); need != "" {
		msg += ": each needs " + need
		if count == 1 {
			msg = "the pod would not fit: it needs " + need
		}
		if free != "" {
			msg += "; nodes have " + free + " free"
		}
	}
	return &PlanFit{Pods: count, Unfit: unfit, Message: msg + " (" + why + ")"}
}

// planPlaceDaemon places a DaemonSet's pod on every node its selector, affinity
// and tolerations target, and reports the nodes where it would not fit.
func planPlaceDaemon(snap *scheduler.Snapshot, pod *corev1.Pod) *PlanFit {
	bare := pod.DeepCopy()
	for _, cs := range [][]corev1.Container{bare.Spec.Containers, bare.Spec.InitContainers} {
		for i := range cs {
			cs[i].Resources, cs[i].Ports = corev1.ResourceRequirements{}, nil
		}
	}
	var targeted int
	var unfit []string
	for i, name := range snap.Names() {
		one := &scheduler.Snapshot{Nodes: map[string]*scheduler.NodeInfo{name: snap.Nodes[name]}}
		if fit, _ := scheduler.Filter(bare, one); len(fit) == 0 {
			continue // not one of the DaemonSet's nodes
		}
		targeted++
		p := planPodCopy(pod, i)
		if fit, reasons := scheduler.Filter(p, one); len(fit) == 0 {
			why := make([]string, 0, len(reasons))
			for r := range reasons {
				why = append(why, r)
			}
			sort.Strings(why)
			unfit = append(unfit, name+": "+strings.Join(why, ", "))
			continue
		}
		snap.Nodes[name].Add(p)
	}
	if len(unfit) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d nodes cannot run its pod", len(unfit), targeted)
	if need := planNeeds(pod); need != "" {
		msg += " (it needs " + need + ")"
	}
	return &PlanFit{Pods: targeted, Unfit: len(unfit), Message: msg + ": " + strings.Join(unfit, "; ")}
}

// planPodCopy is the i-th pod of a workload, with a name and UID of its own so
// that the snapshot counts each.
func planPodCopy(pod *corev1.Pod, i int) *corev1.Pod {
	p := pod.DeepCopy()
	p.Name = fmt.Sprintf("%s-plan-%d", pod.Name, i)
	p.UID = types.UID(fmt.Sprintf("plan/%s/%s", p.Namespace, p.Name))
	p.Spec.NodeName = ""
	return p
}

// planNeeds says what a pod requests of cpu and memory: "2 CPU and 1Gi memory".
func planNeeds(pod *corev1.Pod) string {
	req := scheduler.PodRequests(pod)
	var parts []string
	if q, ok := req[corev1.ResourceCPU]; ok && !q.IsZero() {
		parts = append(parts, planCPU(q.MilliValue())+" CPU")
	}
	if q, ok := req[corev1.ResourceMemory]; ok && !q.IsZero() {
		parts = append(parts, planMemory(q.Value())+" memory")
	}
	return strings.Join(parts, " and ")
}

// planFreeMax is how many nodes' free amounts a message lists.
const planFreeMax = 10

// planFree says what the nodes have free of what the pod requests, largest
// first: "1.5, 1.2, 0.8 CPU" or "1.5, 1.2 CPU and 3Gi, 1Gi memory".
func planFree(snap *scheduler.Snapshot, pod *corev1.Pod) string {
	req := scheduler.PodRequests(pod)
	var parts []string
	add := func(name corev1.ResourceName, free func(ni *scheduler.NodeInfo) int64, format func(int64) string, unit string) {
		if q, ok := req[name]; !ok || q.IsZero() {
			return
		}
		var vals []int64
		for _, ni := range snap.Nodes {
			if ni.Node != nil {
				vals = append(vals, max(free(ni), 0))
			}
		}
		sort.Slice(vals, func(i, j int) bool { return vals[i] > vals[j] })
		var s []string
		for i, v := range vals {
			if i == planFreeMax {
				s = append(s, fmt.Sprintf("… (%d more nodes)", len(vals)-planFreeMax))
				break
			}
			s = append(s, format(v))
		}
		if len(s) > 0 {
			parts = append(parts, strings.Join(s, ", ")+" "+unit)
		}
	}
	add(corev1.ResourceCPU, func(ni *scheduler.NodeInfo) int64 { return ni.Allocatable.MilliCPU - ni.Requested.MilliCPU }, planCPU, "CPU")
	add(corev1.ResourceMemory, func(ni *scheduler.NodeInfo) int64 { return ni.Allocatable.Memory - ni.Requested.Memory }, planMemory, "memory")
	return strings.Join(parts, " and ")
}

// planCPU formats milli-CPUs as CPUs: 1500 → "1.5", 2000 → "2".
func planCPU(milli int64) string {
	return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
}

// planMemory formats bytes as a binary quantity: "1536Mi".
func planMemory(b int64) string {
	return resource.NewQuantity(b, resource.BinarySI).String()
}
