package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// rsTestNow is the clock of the ReplicaSet and Deployment unit tests.
var rsTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// rsTestFixture is a ReplicaSet controller over hand-fed caches (so a test decides
// what the informer has seen) and a fake clientset.
type rsTestFixture struct {
	c      *replicaSetController
	client *fake.Clientset
	sets   cache.Indexer
	pods   cache.Indexer
	rec    *record.FakeRecorder
}

// newRSTestFixture builds the fixture; objs are in the client and in the caches.
func newRSTestFixture(t *testing.T, objs ...runtime.Object) *rsTestFixture {
	t.Helper()
	f := &rsTestFixture{
		client: fake.NewClientset(objs...),
		sets:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		pods:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		rec:    record.NewFakeRecorder(1000),
	}
	var generated atomic.Int32
	f.client.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		// The fake clientset does not implement generateName.
		if m, ok := a.(clienttesting.CreateAction).GetObject().(metav1.Object); ok && m.GetName() == "" && m.GetGenerateName() != "" {
			m.SetName(fmt.Sprintf("%s%05d", m.GetGenerateName(), generated.Add(1)))
			m.SetUID(types.UID(m.GetName() + "-uid"))
		}
		return false, nil, nil
	})
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.ReplicaSet:
			_ = f.sets.Add(o)
		case *corev1.Pod:
			_ = f.pods.Add(o)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.c = &replicaSetController{
		client: f.client, sets: appslisters.NewReplicaSetLister(f.sets), pods: corelisters.NewPodLister(f.pods),
		rec: f.rec, exp: newExpectations(), log: log, now: func() time.Time { return rsTestNow },
	}
	f.c.queue = newWorkQueue("replicaset-test", log, f.c.sync)
	return f
}

// actions counts the client calls of a verb on a resource.
func (f *rsTestFixture) actions(verb, resource string) int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

// events drains the recorded events.
func (f *rsTestFixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// catchUp makes the pod cache show what the client holds, through the handlers.
func (f *rsTestFixture) catchUp(t *testing.T) {
	t.Helper()
	list, err := f.client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		seen[p.Namespace+"/"+p.Name] = true
		if old, ok, _ := f.pods.GetByKey(p.Namespace + "/" + p.Name); ok {
			_ = f.pods.Update(p)
			f.c.updatePod(old, p)
		} else {
			_ = f.pods.Add(p)
			f.c.addPod(p)
		}
	}
	for _, obj := range f.pods.List() {
		p := obj.(*corev1.Pod)
		if !seen[p.Namespace+"/"+p.Name] {
			_ = f.pods.Delete(p)
			f.c.deletePod(p)
		}
	}
}

// rsTestReplicaSet is a ReplicaSet of replicas pods labelled app=name.
func rsTestReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	lbl := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Generation: 1},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
			},
		},
	}
}

// rsTestPod is a running, ready pod of rs (orphan when rs is nil) on node.
func rsTestPod(name string, rs *appsv1.ReplicaSet, node string, labels map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Labels: labels,
			CreationTimestamp: metav1.NewTime(rsTestNow.Add(-time.Hour)), ResourceVersion: "1"},
		Spec: corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(rsTestNow.Add(-time.Hour)),
		}}},
	}
	if rs != nil {
		p.OwnerReferences = []metav1.OwnerReference{controllerRef(rs, replicaSetKind)}
	}
	return p
}

func TestReplicaSetNeverOverCreates(t *testing.T) {
	ctx := context.Background()
	rs := rsTestReplicaSet("web", 3)
	f := newRSTestFixture(t, rs)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := f.actions("create", "pods"); n != 3 {
		t.Fatalf("created %d pods, want 3", n)
	}
	// The cache has seen none of them yet: syncing again must not create more.
	for range 3 {
		if err := f.c.sync(ctx, "ns/web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.actions("create", "pods"); n != 3 {
		t.Fatalf("created %d pods with a lagging cache, want 3", n)
	}
	f.catchUp(t)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := f.actions("create", "pods"); n != 3 {
		t.Fatalf("created %d pods after catching up, want 3", n)
	}
	ev := f.events()
	if len(ev) != 3 || !strings.HasPrefix(ev[0], "Normal SuccessfulCreate Created pod: web-") {
		t.Errorf("events = %q, want 3 SuccessfulCreate", ev)
	}
	pods, _ := f.client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != rs.UID || p.GenerateName != "web-" || p.Labels["app"] != "web" {
			t.Errorf("pod %s: controller %v, generateName %q, labels %v", p.Name, ref, p.GenerateName, p.Labels)
		}
	}
}

func TestReplicaSetDeletesSurplusOnce(t *testing.T) {
	ctx := context.Background()
	rs := rsTestReplicaSet("web", 1)
	lbl := rs.Spec.Template.Labels
	old := rsTestPod("old", rs, "n1", lbl)
	pending := rsTestPod("pending", rs, "", lbl)
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	notReady := rsTestPod("notready", rs, "n2", lbl)
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	f := newRSTestFixture(t, rs, old, pending, notReady)
	for range 3 { // the cache never catches up here
		if err := f.c.sync(ctx, "ns/web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.actions("delete", "pods"); n != 2 {
		t.Fatalf("%d deletes, want 2", n)
	}
	left, _ := f.client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	if len(left.Items) != 1 || left.Items[0].Name != "old" {
		t.Errorf("left %v, want the ready pod", left.Items)
	}
	want := []string{"Normal SuccessfulDelete Deleted pod: notready", "Normal SuccessfulDelete Deleted pod: pending"}
	got := f.events()
	if len(got) == 2 && got[0] > got[1] {
		got[0], got[1] = got[1], got[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestReplicaSetAdoptsAndReleases(t *testing.T) {
	ctx := context.Background()
	rs := rsTestReplicaSet("web", 2)
	orphan := rsTestPod("orphan", nil, "n1", map[string]string{"app": "web"})
	strayed := rsTestPod("strayed", rs, "n2", map[string]string{"app": "other"})
	foreign := rsTestPod("foreign", rsTestReplicaSet("other", 1), "n3", map[string]string{"app": "web"})
	f := newRSTestFixture(t, rs, orphan, strayed, foreign)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *corev1.Pod {
		p, err := f.client.CoreV1().Pods("ns").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if ref := metav1.GetControllerOf(get("orphan")); ref == nil || ref.UID != rs.UID {
		t.Errorf("orphan not adopted: %v", get("orphan").OwnerReferences)
	}
	if refs := get("strayed").OwnerReferences; len(refs) != 0 {
		t.Errorf("strayed pod not released: %v", refs)
	}
	if ref := metav1.GetControllerOf(get("foreign")); ref == nil || ref.UID != "other-uid" {
		t.Errorf("another controller's pod was touched: %v", get("foreign").OwnerReferences)
	}
	if n := f.actions("create", "pods"); n != 1 {
		t.Errorf("created %d pods, want 1 (the adopted orphan counts)", n)
	}
}

func TestReplicaSetCreateFailure(t *testing.T) {
	ctx := context.Background()
	rs := rsTestReplicaSet("web", 5)
	f := newRSTestFixture(t, rs)
	f.client.PrependReactor("create", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New("exceeded quota"))
	})
	if err := f.c.sync(ctx, "ns/web"); err == nil {
		t.Fatal("sync succeeded, want the create error")
	}
	if n := f.actions("create", "pods"); n != 1 {
		t.Errorf("%d create attempts, want 1 (slow start stops at the first failed batch)", n)
	}
	got, _ := f.client.AppsV1().ReplicaSets("ns").Get(ctx, "web", metav1.GetOptions{})
	c := replicaSetCondition(got.Status, appsv1.ReplicaSetReplicaFailure)
	if c == nil || c.Reason != "FailedCreate" || c.Status != corev1.ConditionTrue || !strings.Contains(c.Message, "exceeded quota") {
		t.Errorf("ReplicaFailure condition = %+v", c)
	}
	if ev := f.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning FailedCreate Error creating: ") {
		t.Errorf("events = %q", ev)
	}
	// The failed creation lowered the expectations: the next sync tries again.
	if !f.c.exp.satisfied("ns/web") {
		t.Error("expectations still wait for a creation that failed")
	}
}

func TestReplicaSetSlowStart(t *testing.T) {
	for _, tc := range []struct {
		count, failFrom   int // calls numbered from 1; failFrom 0: none fail
		wantOK, wantCalls int
		wantErr           bool
	}{
		{count: 0, wantOK: 0, wantCalls: 0},
		{count: 1, wantOK: 1, wantCalls: 1},
		{count: 10, wantOK: 10, wantCalls: 10},                               // batches 1, 2, 4, 3
		{count: 10, failFrom: 1, wantOK: 0, wantCalls: 1, wantErr: true},     // first batch fails
		{count: 10, failFrom: 5, wantOK: 4, wantCalls: 7, wantErr: true},     // batch of 4 (calls 4-7) partly fails
		{count: 100, failFrom: 16, wantOK: 15, wantCalls: 31, wantErr: true}, // 1+2+4+8, then a batch of 16
		{count: 3, failFrom: 3, wantOK: 2, wantCalls: 3, wantErr: true},      // batches 1, 2
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.count, tc.failFrom), func(t *testing.T) {
			var calls atomic.Int32
			ok, err := replicaSetSlowStart(tc.count, func() error {
				if n := int(calls.Add(1)); tc.failFrom > 0 && n >= tc.failFrom {
					return errors.New("no")
				}
				return nil
			})
			if ok != tc.wantOK || int(calls.Load()) != tc.wantCalls || (err != nil) != tc.wantErr {
				t.Errorf("got %d ok, %d calls, err %v; want %d ok, %d calls, err %v", ok, calls.Load(), err, tc.wantOK, tc.wantCalls, tc.wantErr)
			}
		})
	}
}

func TestPodsToDeleteOrder(t *testing.T) {
	base := func(name string) *corev1.Pod { return rsTestPod(name, nil, "n-"+name, nil) }
	with := func(name string, mod func(p *corev1.Pod)) *corev1.Pod {
		p := base(name)
		mod(p)
		return p
	}
	hour := rsTestNow.Add(-time.Hour)
	for _, tc := range []struct {
		name        string
		first       *corev1.Pod // deleted before
		second      *corev1.Pod
		second2node bool // second shares its node with another pod of the workload
	}{
		{name: "unscheduled first", first: with("a", func(p *corev1.Pod) { p.Spec.NodeName = "" }), second: base("b")},
		{name: "pending before running", first: with("a", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), second: base("b")},
		{name: "unknown before running", first: with("a", func(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown }), second: base("b")},
		{name: "pending before unknown", first: with("a", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }),
			second: with("b", func(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown })},
		{name: "not ready first", first: with("a", func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }), second: base("b")},
		{name: "lower deletion cost first", first: with("a", func(p *corev1.Pod) {
			p.Annotations = map[string]string{podDeletionCostAnnotation: "-5"}
		}), second: base("b")},
		{name: "ready for less time first", first: with("a", func(p *corev1.Pod) {
			p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(rsTestNow.Add(-10 * time.Second))
		}), second: base("b")},
		{name: "more restarts first", first: with("a", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: 3}}
		}), second: base("b")},
		{name: "newer first", first: with("a", func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(rsTestNow.Add(-time.Minute)) }),
			second: base("b")},
		{name: "newer first within a bucket", first: with("b", func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(hour.Add(time.Second)) }),
			second: base("a")},
		{name: "doubled-up first", first: with("a", func(p *corev1.Pod) { p.Spec.NodeName = "shared" }), second: base("b")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			related := []*corev1.Pod{tc.first, tc.second}
			if tc.first.Spec.NodeName == "shared" {
				related = append(related, rsTestPod("other", nil, "shared", nil))
			}
			for _, order := range [][]*corev1.Pod{{tc.first, tc.second}, {tc.second, tc.first}} {
				got := podsToDelete(order, related, 1, rsTestNow)
				if got[0] != tc.first {
					t.Errorf("deleted %s first, want %s", got[0].Name, tc.first.Name)
				}
			}
		})
	}
}

func TestReplicaSetStatus(t *testing.T) {
	rs := rsTestReplicaSet("web", 3)
	rs.Spec.MinReadySeconds = 10
	rs.Generation = 4
	readyAt := func(name string, ago time.Duration, lbl map[string]string) *corev1.Pod {
		p := rsTestPod(name, rs, "n", lbl)
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(rsTestNow.Add(-ago))
		return p
	}
	notReady := rsTestPod("d", rs, "n", rs.Spec.Template.Labels)
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	pods := []*corev1.Pod{
		readyAt("a", time.Minute, rs.Spec.Template.Labels),
		readyAt("b", 4*time.Second, rs.Spec.Template.Labels),        // available in 6s
		readyAt("c", time.Minute, map[string]string{"app": "web2"}), // not fully labeled
		notReady,
	}
	got, next := replicaSetStatus(rs, pods, nil, rsTestNow)
	want := appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, ObservedGeneration: 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if next != 6*time.Second+100*time.Millisecond {
		t.Errorf("next look in %v, want 6.1s", next)
	}

	failed, _ := replicaSetStatus(rs, nil, errors.New("boom"), rsTestNow)
	if c := replicaSetCondition(failed, appsv1.ReplicaSetReplicaFailure); c == nil || c.Reason != "FailedCreate" || c.Message != "boom" {
		t.Fatalf("ReplicaFailure = %+v", c)
	}
	rs.Status = failed
	recovered, _ := replicaSetStatus(rs, nil, nil, rsTestNow)
	if len(recovered.Conditions) != 0 {
		t.Errorf("ReplicaFailure kept after a good round: %+v", recovered.Conditions)
	}
}
