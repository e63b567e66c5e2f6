package controllers

import (
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
)

var dsTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testDaemonSet(mod ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid", Generation: 1},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))},
			},
		},
	}
	for _, m := range mod {
		m(ds)
	}
	return ds
}

func testNode(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

// testDaemonPod is a running pod of testDaemonSet on a node, of a template hash,
// ready or not, created age ago.
func testDaemonPod(name, node, hash string, ready bool, age time.Duration) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: types.UID(name + "-uid"),
			Labels:            map[string]string{"app": "agent", appsv1.DefaultDaemonSetUniqueLabelKey: hash},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "ds-uid", Controller: ptr.To(true)}},
			CreationTimestamp: metav1.NewTime(dsTestNow.Add(-age)),
		},
		Spec: corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(dsTestNow.Add(-age))},
		}},
	}
}

func TestDaemonShouldRun(t *testing.T) {
	noSchedule := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	noExecute := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}
	affinity := func(terms ...corev1.NodeSelectorTerm) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
			}}
		}
	}
	expr := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	for _, tc := range []struct {
		name      string
		ds        *appsv1.DaemonSet
		node      *corev1.Node
		run, keep bool
	}{
		{"plain", testDaemonSet(), testNode("n", nil), true, true},
		{"nodeSelector matches", testDaemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"} }),
			testNode("n", map[string]string{"role": "worker"}), true, true},
		{"nodeSelector does not match", testDaemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"} }),
			testNode("n", map[string]string{"role": "db"}), false, false},
		{"template nodeName elsewhere", testDaemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "m" }), testNode("n", nil), false, false},
		{"affinity In", testDaemonSet(affinity(expr("zone", corev1.NodeSelectorOpIn, "a", "b"))), testNode("n", map[string]string{"zone": "b"}), true, true},
		{"affinity NotIn", testDaemonSet(affinity(expr("zone", corev1.NodeSelectorOpNotIn, "b"))), testNode("n", map[string]string{"zone": "b"}), false, false},
		{"affinity terms ORed", testDaemonSet(affinity(expr("zone", corev1.NodeSelectorOpIn, "a"), expr("gpu", corev1.NodeSelectorOpExists))),
			testNode("n", map[string]string{"gpu": "1"}), true, true},
		{"affinity Gt", testDaemonSet(affinity(expr("cores", corev1.NodeSelectorOpGt, "8"))), testNode("n", map[string]string{"cores": "4"}), false, false},
		{"affinity matchFields", testDaemonSet(affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n"}}}})), testNode("n", nil), true, true},
		{"affinity empty term", testDaemonSet(affinity(corev1.NodeSelectorTerm{})), testNode("n", nil), false, false},
		{"NoSchedule taint: no new pod, the old one stays", testDaemonSet(), testNode("n", nil, noSchedule), false, true},
		{"NoExecute taint: the pod goes", testDaemonSet(), testNode("n", nil, noExecute), false, false},
		{"tolerated taint", testDaemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), testNode("n", nil, noExecute), true, true},
		{"not-ready and unreachable are tolerated", testDaemonSet(), testNode("n", nil,
			corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute},
			corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute},
			corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), true, true},
		{"network-unavailable only with hostNetwork", testDaemonSet(), testNode("n", nil,
			corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"network-unavailable with hostNetwork", testDaemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.HostNetwork = true }), testNode("n", nil,
			corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), true, true},
	} {
		run, keep := daemonShouldRun(tc.node, tc.ds)
		if run != tc.run || keep != tc.keep {
			t.Errorf("%s: run %v keep %v, want %v %v", tc.name, run, keep, tc.run, tc.keep)
		}
	}
}

func TestDaemonPodFor(t *testing.T) {
	ds := testDaemonSet(func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}},
			}},
		}}
	})
	p := daemonPodFor(ds, "node-1", "abc")
	want := []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}}}}
	if diff := cmp.Diff(want, p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms); diff != "" {
		t.Errorf("required node affinity (-want +got):\n%s", diff)
	}
	if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != "abc" || p.Labels["app"] != "agent" || p.GenerateName != "agent-" {
		t.Errorf("labels %v generateName %q", p.Labels, p.GenerateName)
	}
	if len(p.Spec.Tolerations) != 6 || !ownedBy(p, types.UID("ds-uid")) {
		t.Errorf("tolerations %v owners %v; want the 6 daemon tolerations and the DaemonSet as controller", p.Spec.Tolerations, p.OwnerReferences)
	}
	if ds.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions == nil {
		t.Errorf("the DaemonSet's own template was changed")
	}
	if daemonSetHash(ds) == daemonSetHash(testDaemonSet()) {
		t.Errorf("two templates have the same hash")
	}
}

// dsFixture is a DaemonSet controller over hand-fed caches and a fake clientset.
func dsFixture(t *testing.T, nodes ...*corev1.Node) *daemonSetController {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range nodes {
		_ = idx.Add(n)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &daemonSetController{
		client: fake.NewClientset(), nodes: corelisters.NewNodeLister(idx), rec: record.NewFakeRecorder(100),
		log: log, exp: newExpectations(), failed: flowcontrol.NewBackOff(time.Second, 15*time.Minute),
		now: func() time.Time { return dsTestNow },
	}
	c.queue = newWorkQueue("daemonset-test", log, c.sync)
	t.Cleanup(c.queue.q.ShutDown)
	return c
}

func planNames(p daemonPlan) (create, del []string) {
	create = append(create, p.create...)
	for _, pod := range p.delete {
		del = append(del, pod.Name)
	}
	sort.Strings(create)
	sort.Strings(del)
	return create, del
}

func TestDaemonPlanNodes(t *testing.T) {
	ds := testDaemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"} })
	worker := map[string]string{"role": "worker"}
	nodes := []*corev1.Node{
		testNode("empty", worker),
		testNode("fine", worker),
		testNode("two", worker),
		testNode("failed", worker),
		testNode("db", map[string]string{"role": "db"}),
	}
	failed := testDaemonPod("failed-a", "failed", "h", false, time.Minute)
	failed.Status.Phase = corev1.PodFailed
	terminating := testDaemonPod("fine-b", "fine", "h", false, time.Second)
	terminating.DeletionTimestamp = &metav1.Time{Time: dsTestNow}
	byNode := map[string][]*corev1.Pod{
		"fine":   {testDaemonPod("fine-a", "fine", "h", true, time.Hour), terminating},
		"two":    {testDaemonPod("two-old", "two", "h", true, time.Hour), testDaemonPod("two-new", "two", "h", true, time.Minute)},
		"failed": {failed},
		"db":     {testDaemonPod("db-a", "db", "h", true, time.Hour)},
		"gone":   {testDaemonPod("gone-a", "gone", "h", true, time.Hour)},
	}
	c := dsFixture(t, nodes...)
	create, del := planNames(c.planNodes("ns/agent", ds, nodes, byNode, "h", dsTestNow))
	if diff := cmp.Diff([]string{"empty"}, create); diff != "" {
		t.Errorf("nodes given a pod (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"db-a", "failed-a", "gone-a", "two-new"}, del); diff != "" {
		t.Errorf("pods deleted (-want +got):\n%s", diff)
	}
	// The failed pod is not deleted again within its backoff.
	_, del = planNames(c.planNodes("ns/agent", ds, nodes, byNode, "h", dsTestNow))
	for _, name := range del {
		if name == "failed-a" {
			t.Errorf("failed pod deleted twice within its backoff")
		}
	}
}

func TestDaemonRollingUpdate(t *testing.T) {
	nodes := []*corev1.Node{testNode("a", nil), testNode("b", nil), testNode("c", nil), testNode("d", nil)}
	for _, tc := range []struct {
		name           string
		ds             *appsv1.DaemonSet
		byNode         map[string][]*corev1.Pod
		create, delete []string
	}{
		{"maxUnavailable 1: one old pod at a time", testDaemonSet(), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", true, time.Hour)},
			"b": {testDaemonPod("b-old", "b", "old", true, time.Hour)},
			"c": {testDaemonPod("c-new", "c", "new", true, time.Hour)},
			"d": {testDaemonPod("d-new", "d", "new", true, time.Hour)},
		}, nil, []string{"a-old"}},
		{"a new pod not ready yet uses the budget", testDaemonSet(), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", true, time.Hour)},
			"b": {testDaemonPod("b-new", "b", "new", false, time.Second)},
		}, nil, nil},
		{"a node whose old pod is gone and whose new pod is not created yet uses the budget", testDaemonSet(), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", true, time.Hour)},
			"c": {testDaemonPod("c-new", "c", "new", true, time.Hour)},
			"d": {testDaemonPod("d-new", "d", "new", true, time.Hour)},
		}, nil, nil},
		{"unavailable old pods go at once", testDaemonSet(), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", false, time.Hour)},
			"b": {testDaemonPod("b-old", "b", "old", false, time.Hour)},
			"c": {testDaemonPod("c-new", "c", "new", false, time.Second)},
		}, nil, []string{"a-old", "b-old"}},
		{"maxUnavailable 50%", testDaemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("50%"))
		}), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", true, time.Hour)},
			"b": {testDaemonPod("b-old", "b", "old", true, time.Hour)},
			"c": {testDaemonPod("c-old", "c", "old", true, time.Hour)},
			"d": {testDaemonPod("d-old", "d", "old", true, time.Hour)},
		}, nil, []string{"a-old", "b-old"}},
		{"maxSurge 1: a new pod beside an old one, the old one goes when it is available", testDaemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}
		}), map[string][]*corev1.Pod{
			"a": {testDaemonPod("a-old", "a", "old", true, time.Hour), testDaemonPod("a-new", "a", "new", true, time.Hour)},
			"b": {testDaemonPod("b-old", "b", "old", true, time.Hour)},
			"c": {testDaemonPod("c-old", "c", "old", true, time.Hour)},
			"d": {testDaemonPod("d-old", "d", "old", false, time.Hour)},
		}, []string{"b", "d"}, []string{"a-old"}},
	} {
		create, del := planNames(daemonRollingUpdate(tc.ds, nodes, tc.byNode, "new", dsTestNow))
		if diff := cmp.Diff(tc.create, create); diff != "" {
			t.Errorf("%s: nodes given a pod (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.delete, del); diff != "" {
			t.Errorf("%s: pods deleted (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestDaemonSetStatus(t *testing.T) {
	ds := testDaemonSet(func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"}
		ds.Spec.MinReadySeconds = 10
		ds.Generation = 3
	})
	worker := map[string]string{"role": "worker"}
	nodes := []*corev1.Node{testNode("a", worker), testNode("b", worker), testNode("c", worker), testNode("d", nil)}
	byNode := map[string][]*corev1.Pod{
		"a": {testDaemonPod("a-1", "a", "new", true, time.Hour)},
		"b": {testDaemonPod("b-1", "b", "old", true, time.Second)}, // ready, not yet available
		"d": {testDaemonPod("d-1", "d", "new", true, time.Hour)},   // misscheduled
	}
	got := daemonSetStatus(ds, nodes, byNode, "new", dsTestNow)
	want := appsv1.DaemonSetStatus{
		ObservedGeneration: 3, DesiredNumberScheduled: 3, CurrentNumberScheduled: 2, NumberMisscheduled: 1,
		NumberReady: 2, NumberAvailable: 1, UpdatedNumberScheduled: 1, NumberUnavailable: 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}
