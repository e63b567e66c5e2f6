package controllers

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

func TestLastHeartbeat(t *testing.T) {
	renew := func(d time.Duration) *coordinationv1.Lease {
		mt := metav1.NewMicroTime(t0.Add(d))
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &mt}}
	}
	node := func(heartbeat *time.Duration) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: at(0)}}
		if heartbeat != nil {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: at(*heartbeat)}}
		}
		return n
	}
	d := func(d time.Duration) *time.Duration { return &d }
	for _, tc := range []struct {
		name  string
		node  *corev1.Node
		lease *coordinationv1.Lease
		want  time.Duration
	}{
		{"nothing posted: creation", node(nil), nil, 0},
		{"ready heartbeat only", node(d(5 * time.Second)), nil, 5 * time.Second},
		{"lease newer", node(d(5 * time.Second)), renew(9 * time.Second), 9 * time.Second},
		{"status newer", node(d(12 * time.Second)), renew(9 * time.Second), 12 * time.Second},
		{"lease without renewTime", node(nil), &coordinationv1.Lease{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastHeartbeat(tc.node, tc.lease); !got.Equal(t0.Add(tc.want)) {
				t.Errorf("lastHeartbeat = %v, want %v", got, t0.Add(tc.want))
			}
		})
	}
}

func TestMarkConditionsUnknown(t *testing.T) {
	now := at(time.Minute)
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: at(time.Second), LastTransitionTime: at(0)}
	got, changed := markConditionsUnknown([]corev1.NodeCondition{ready}, at(0), now)
	if !changed {
		t.Fatal("changed = false, want true")
	}
	want := []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.", LastHeartbeatTime: at(time.Second), LastTransitionTime: now},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: at(0), LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: at(0), LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: at(0), LastTransitionTime: now},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if ready.Status != corev1.ConditionTrue {
		t.Error("the input was modified")
	}
	again, changed := markConditionsUnknown(got, at(0), at(2*time.Minute))
	if changed || !cmp.Equal(again, got) {
		t.Errorf("second marking changed %v: %v", changed, cmp.Diff(got, again))
	}
}

func TestHealthTaints(t *testing.T) {
	cond := func(typ corev1.NodeConditionType, s corev1.ConditionStatus) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: s}
	}
	taint := func(key string, e corev1.TaintEffect) corev1.Taint { return corev1.Taint{Key: key, Effect: e} }
	for _, tc := range []struct {
		name          string
		conds         []corev1.NodeCondition
		unschedulable bool
		want          []corev1.Taint
	}{
		{"ready", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue)}, false, nil},
		{"no status yet", nil, false, nil},
		{"not ready", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionFalse)}, false, []corev1.Taint{
			taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)}},
		{"unknown", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionUnknown), cond(corev1.NodeMemoryPressure, corev1.ConditionUnknown)}, false, []corev1.Taint{
			taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)}},
		{"pressure and cordoned", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue), cond(corev1.NodeDiskPressure, corev1.ConditionTrue)}, true, []corev1.Taint{
			taint(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tc.unschedulable}, Status: corev1.NodeStatus{Conditions: tc.conds}}
			if diff := cmp.Diff(tc.want, healthTaints(node)); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileTaints(t *testing.T) {
	old, now := at(0), at(time.Minute)
	user := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	notReadyExec := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: &old}
	unreachableSched := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
	unreachableExec := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	for _, tc := range []struct {
		name          string
		current, want []corev1.Taint
		out           []corev1.Taint
		changed       bool
	}{
		{"nothing to do", []corev1.Taint{user}, nil, []corev1.Taint{user}, false},
		{"add with timeAdded", []corev1.Taint{user}, []corev1.Taint{unreachableSched, unreachableExec},
			[]corev1.Taint{user, unreachableSched, {Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &now}}, true},
		{"keep timeAdded", []corev1.Taint{notReadyExec, user}, []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Taint{notReadyExec, user}, false},
		{"swap not-ready for unreachable", []corev1.Taint{notReadyExec, user}, []corev1.Taint{unreachableExec},
			[]corev1.Taint{user, {Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &now}}, true},
		{"ready again", []corev1.Taint{unreachableSched, user, notReadyExec}, nil, []corev1.Taint{user}, true},
		{"user taint with a managed key but another effect", []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoExecute}}, nil,
			[]corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoExecute}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed := reconcileTaints(tc.current, tc.want, now)
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if diff := cmp.Diff(tc.out, out); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvictionDeadline(t *testing.T) {
	timeout := 60 * time.Second
	secs := func(s int64) *int64 { return &s }
	defaults := []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(300)},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(300)},
	}
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	dedicated := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}
	since := func(t corev1.Taint) time.Time {
		if t.Key == "dedicated" {
			return t0.Add(10 * time.Second)
		}
		return t0
	}
	for _, tc := range []struct {
		name   string
		tols   []corev1.Toleration
		taints []corev1.Taint
		want   time.Duration
		never  bool
	}{
		{"no NoExecute taint", defaults, []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}, 0, true},
		{"default toleration: eviction timeout", defaults, []corev1.Taint{unreachable}, timeout, false},
		{"no toleration of a health taint: eviction timeout", nil, []corev1.Taint{unreachable}, timeout, false},
		{"own tolerationSeconds", []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(600)}},
			[]corev1.Taint{unreachable}, 600 * time.Second, false},
		{"tolerated for ever", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, []corev1.Taint{unreachable, dedicated}, 0, true},
		{"least of matching tolerations", []corev1.Toleration{
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists},
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(5)},
		}, []corev1.Taint{unreachable}, 5 * time.Second, false},
		{"negative seconds: at once", []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, TolerationSeconds: secs(-1), Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Taint{unreachable}, 0, false},
		{"user taint not tolerated: at once", defaults, []corev1.Taint{unreachable, dedicated}, 10 * time.Second, false},
		{"user taint tolerated with a value", []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(30)}},
			[]corev1.Taint{dedicated}, 40 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.tols}}
			got, ok := evictionDeadline(pod, tc.taints, timeout, since)
			if ok == tc.never {
				t.Fatalf("ok = %v, want %v", ok, !tc.never)
			}
			if ok && !got.Equal(t0.Add(tc.want)) {
				t.Errorf("deadline = t0+%v, want t0+%v", got.Sub(t0), tc.want)
			}
		})
	}
}

// nodeTest is a node lifecycle controller over a fake clientset, with a clock the
// test sets.
type nodeTest struct {
	c      *nodeLifecycleController
	client *fake.Clientset
	rec    *record.FakeRecorder
	now    time.Time
}

func newNodeTest(t *testing.T, objs ...runtime.Object) *nodeTest {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	cc := &controllerContext{
		client: client, informers: factory, log: slog.New(slog.NewTextHandler(io.Discard, nil)), events: record.NewBroadcaster(),
		opts: Options{NodeMonitorPeriod: time.Second, NodeMonitorGracePeriod: 40 * time.Second, PodEvictionTimeout: time.Minute},
	}
	ctrl, err := newNodeLifecycleController(cc)
	if err != nil {
		t.Fatal(err)
	}
	nt := &nodeTest{c: ctrl.(*nodeLifecycleController), client: client, rec: record.NewFakeRecorder(100), now: t0}
	nt.c.rec = nt.rec
	nt.c.now = func() time.Time { return nt.now }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return nt
}

// refresh copies the fake API's objects into the informer caches, so the next sync
// sees what the last one wrote.
func (nt *nodeTest) refresh(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		nodes, _ := nt.client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		pods, _ := nt.client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
		synced := true
		for _, n := range nodes.Items {
			if c, err := nt.c.nodes.Get(n.Name); err != nil || !apiequality.Semantic.DeepEqual(c.Spec, n.Spec) || !apiequality.Semantic.DeepEqual(c.Status, n.Status) {
				synced = false
			}
		}
		if len(nt.c.pods.List()) != len(pods.Items) {
			synced = false
		}
		if synced {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("informer caches did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (nt *nodeTest) events() []string {
	var out []string
	for {
		select {
		case e := <-nt.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func hollowNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), CreationTimestamp: at(0)},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: at(0), LastTransitionTime: at(0),
		}}},
	}
}

func nodeLease(name string, renew time.Duration) *coordinationv1.Lease {
	mt := metav1.NewMicroTime(t0.Add(renew))
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease}, Spec: coordinationv1.LeaseSpec{RenewTime: &mt}}
}

func boundPod(name, node string, tols ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node, Tolerations: tols},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
}

func TestNodeLifecycleLostNode(t *testing.T) {
	ctx := context.Background()
	forever := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	nt := newNodeTest(t, hollowNode("n1"), nodeLease("n1", 30*time.Second),
		boundPod("web", "n1"), boundPod("agent", "n1", forever))

	// Within the grace period: nothing happens but the registration event.
	nt.now = t0.Add(60 * time.Second)
	if err := nt.c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := nt.events(); len(got) != 1 || !strings.Contains(got[0], "RegisteredNode") {
		t.Errorf("events = %q, want one RegisteredNode", got)
	}

	// The lease is 41s old: the node turns Unknown and unreachable, its pods not ready.
	nt.now = t0.Add(71 * time.Second)
	if err := nt.c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	node, _ := nt.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if c := nodeCondition(node, corev1.NodeReady); c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" {
		t.Errorf("Ready = %s/%s, want Unknown/NodeStatusUnknown", c.Status, c.Reason)
	}
	var keys []string
	for _, tn := range node.Spec.Taints {
		keys = append(keys, tn.Key+":"+string(tn.Effect))
	}
	if want := []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}; !cmp.Equal(keys, want) {
		t.Errorf("taints = %v, want %v", keys, want)
	}
	for _, name := range []string{"web", "agent"} {
		if pod, _ := nt.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); podReady(pod) {
			t.Errorf("pod %s still ready", name)
		}
	}
	if got := nt.events(); len(got) != 1 || got[0] != "Normal NodeNotReady Node n1 status is now: NodeNotReady" {
		t.Errorf("events = %q, want NodeNotReady", got)
	}

	// After PodEvictionTimeout the pod without its own toleration is deleted.
	nt.refresh(t)
	nt.now = t0.Add(71*time.Second + time.Minute)
	if err := nt.c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := nt.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod web: err = %v, want it deleted", err)
	}
	if _, err := nt.client.CoreV1().Pods("default").Get(ctx, "agent", metav1.GetOptions{}); err != nil {
		t.Errorf("pod agent tolerates the taint for ever, but: %v", err)
	}
	if got := nt.events(); len(got) != 1 || got[0] != "Normal NodeControllerEviction Marking for deletion Pod web from Node n1" {
		t.Errorf("events = %q, want an eviction of web", got)
	}

	// The kubelet comes back: Ready again, taints gone.
	node, _ = nt.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	node.Status.Conditions = hollowNode("n1").Status.Conditions
	node.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(nt.now)
	if _, err := nt.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	nt.refresh(t)
	if err := nt.c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	node, _ = nt.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if len(node.Spec.Taints) != 0 {
		t.Errorf("taints = %v, want none", node.Spec.Taints)
	}
	if got := nt.events(); len(got) != 1 || got[0] != "Normal NodeReady Node n1 status is now: NodeReady" {
		t.Errorf("events = %q, want NodeReady", got)
	}
}

func TestNodeLifecycleDeletedNode(t *testing.T) {
	ctx := context.Background()
	nt := newNodeTest(t, hollowNode("n1"), boundPod("kept", "n1"), boundPod("orphan", "gone"))
	nt.c.enqueueAll()
	if n := nt.c.queue.q.Len(); n != 2 {
		t.Errorf("queued %d keys, want n1 and gone", n)
	}
	if err := nt.c.sync(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := nt.client.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod of a deleted node: err = %v, want it deleted", err)
	}
	if _, err := nt.client.CoreV1().Pods("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("pod of a live node: %v", err)
	}
	var deleted bool
	for _, a := range nt.client.Actions() {
		if d, ok := a.(interface{ GetDeleteOptions() metav1.DeleteOptions }); ok && a.GetVerb() == "delete" {
			g := d.GetDeleteOptions().GracePeriodSeconds
			deleted = g != nil && *g == 0
		}
	}
	if !deleted {
		t.Error("the orphan was not force-deleted (grace 0)")
	}
}

func TestNodeLifecycleAsksBeforeDeclaringALostNode(t *testing.T) {
	ctx := context.Background()
	nt := newNodeTest(t, hollowNode("n1"), nodeLease("n1", 0))
	// The API server has a renewal the cache has not seen yet.
	nt.client.PrependReactor("get", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nodeLease("n1", 50*time.Second), nil
	})
	nt.now = t0.Add(60 * time.Second)
	if err := nt.c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	node, _ := nt.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if c := nodeCondition(node, corev1.NodeReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %s, want True: the live Lease is 10s old", c.Status)
	}
}
