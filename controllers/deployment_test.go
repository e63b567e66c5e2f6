package controllers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// depTest is a Deployment of replicas with a RollingUpdate of surge and unavailable.
func depTest(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	lbl := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "web-uid", Generation: 1, ResourceVersion: "1"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v1"}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		},
	}
}

// depTestRS is a ReplicaSet of d named name, created age ago, with spec replicas
// and status replicas/available.
func depTestRS(d *appsv1.Deployment, name string, age time.Duration, spec, replicas, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, UID: types.UID(name + "-uid"), ResourceVersion: "1",
			CreationTimestamp: metav1.NewTime(rsTestNow.Add(-age)),
			OwnerReferences:   []metav1.OwnerReference{controllerRef(d, deploymentKind)},
			Labels:            map[string]string{"app": "web"}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &spec, Template: *d.Spec.Template.DeepCopy(), Selector: d.Spec.Selector.DeepCopy()},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func TestResolveFenceposts(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable     intstr.IntOrString
		desired                int32
		wantSurge, wantUnavail int32
	}{
		{intstr.FromString("25%"), intstr.FromString("25%"), 10, 3, 2}, // surge rounds up, unavailable down
		{intstr.FromString("25%"), intstr.FromString("25%"), 3, 1, 0},
		{intstr.FromInt32(1), intstr.FromInt32(1), 3, 1, 1},
		{intstr.FromString("25%"), intstr.FromInt32(0), 4, 1, 0},
		{intstr.FromInt32(0), intstr.FromInt32(0), 5, 0, 1}, // both zero: unavailable 1
		{intstr.FromString("0%"), intstr.FromString("10%"), 5, 0, 1},
		{intstr.FromString("1%"), intstr.FromString("1%"), 2, 1, 0},
		{intstr.FromString("100%"), intstr.FromString("50%"), 5, 5, 2},
	} {
		s, u, err := resolveFenceposts(&tc.surge, &tc.unavailable, tc.desired)
		if err != nil || s != tc.wantSurge || u != tc.wantUnavail {
			t.Errorf("resolve(%s, %s, %d) = %d, %d, %v; want %d, %d", tc.surge.String(), tc.unavailable.String(), tc.desired, s, u, err, tc.wantSurge, tc.wantUnavail)
		}
	}
	bad := intstr.FromString("lots")
	if _, _, err := resolveFenceposts(&bad, nil, 3); err == nil {
		t.Error("an invalid maxSurge resolved")
	}
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(5))
	if got := deploymentMaxUnavailable(d); got != 3 {
		t.Errorf("maxUnavailable over replicas = %d, want 3 (replicas)", got)
	}
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if s, u := deploymentMaxSurge(d), deploymentMaxUnavailable(d); s != 0 || u != 0 {
		t.Errorf("Recreate: surge %d, unavailable %d, want 0, 0", s, u)
	}
}

func TestNewReplicaSetReplicas(t *testing.T) {
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(1))
	d10 := depTest(10, intstr.FromString("25%"), intstr.FromString("25%"))
	recreate := depTest(3, intstr.FromInt32(1), intstr.FromInt32(1))
	recreate.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	for _, tc := range []struct {
		name  string
		d     *appsv1.Deployment
		oldRS *appsv1.ReplicaSet
		newRS *appsv1.ReplicaSet
		want  int32
	}{
		{"first surge", d, depTestRS(d, "old", time.Hour, 3, 3, 3), depTestRS(d, "new", 0, 0, 0, 0), 1},
		{"old scaled down", d, depTestRS(d, "old", time.Hour, 2, 2, 2), depTestRS(d, "new", 0, 1, 1, 0), 2},
		{"old pods not yet marked for deletion", d, depTestRS(d, "old", time.Hour, 2, 3, 3), depTestRS(d, "new", 0, 1, 1, 0), 1},
		{"never past replicas", d, depTestRS(d, "old", time.Hour, 0, 0, 0), depTestRS(d, "new", 0, 2, 2, 2), 3},
		{"percent surge rounds up", d10, depTestRS(d10, "old", time.Hour, 10, 10, 10), depTestRS(d10, "new", 0, 0, 0, 0), 3},
		{"recreate takes all", recreate, depTestRS(recreate, "old", time.Hour, 3, 3, 3), depTestRS(recreate, "new", 0, 0, 0, 0), 3},
	} {
		if got := newReplicaSetReplicas(tc.d, []*appsv1.ReplicaSet{tc.oldRS, tc.newRS}, tc.newRS); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestOldReplicaSetTargets(t *testing.T) {
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(1))
	noUnavail := depTest(3, intstr.FromInt32(1), intstr.FromInt32(0))
	type rs = *appsv1.ReplicaSet
	for _, tc := range []struct {
		name  string
		d     *appsv1.Deployment
		newRS rs
		old   []rs
		want  map[string]int32
	}{
		{"one available may go", d, depTestRS(d, "new", 0, 1, 1, 0),
			[]rs{depTestRS(d, "old", time.Hour, 3, 3, 3)}, map[string]int32{"old": 2}},
		{"new pod available: two may go", d, depTestRS(d, "new", 0, 1, 1, 1),
			[]rs{depTestRS(d, "old", time.Hour, 3, 3, 3)}, map[string]int32{"old": 1}},
		{"at the minimum", d, depTestRS(d, "new", 0, 2, 2, 0),
			[]rs{depTestRS(d, "old", time.Hour, 2, 2, 2)}, nil},
		// The old ReplicaSet still reports 3 available although scaled to 2: counting
		// 3 would let it go to 0 and leave 1 available pod.
		{"stale status of a scale-down", d, depTestRS(d, "new", 0, 2, 2, 1),
			[]rs{depTestRS(d, "old", time.Hour, 2, 3, 3)}, map[string]int32{"old": 1}},
		{"unavailable old pods first", d, depTestRS(d, "new", 0, 1, 1, 0),
			[]rs{depTestRS(d, "old", time.Hour, 3, 3, 1)}, map[string]int32{"old": 2}},
		{"broken old revision does not block", d, depTestRS(d, "new", 0, 1, 1, 1),
			[]rs{depTestRS(d, "old", time.Hour, 3, 3, 0)}, map[string]int32{"old": 1}},
		{"maxUnavailable 0 waits for the new pod", noUnavail, depTestRS(noUnavail, "new", 0, 1, 1, 0),
			[]rs{depTestRS(noUnavail, "old", time.Hour, 3, 3, 3)}, nil},
		{"maxUnavailable 0, new pod available", noUnavail, depTestRS(noUnavail, "new", 0, 1, 1, 1),
			[]rs{depTestRS(noUnavail, "old", time.Hour, 3, 3, 3)}, map[string]int32{"old": 2}},
		{"oldest first", d, depTestRS(d, "new", 0, 2, 2, 2),
			[]rs{depTestRS(d, "older", time.Hour, 1, 1, 1), depTestRS(d, "oldest", 2*time.Hour, 1, 1, 1)},
			map[string]int32{"oldest": 0, "older": 0}},
		{"oldest first, partly", d, depTestRS(d, "new", 0, 1, 1, 1),
			[]rs{depTestRS(d, "older", time.Hour, 2, 2, 2), depTestRS(d, "oldest", 2*time.Hour, 1, 1, 1)},
			map[string]int32{"oldest": 0, "older": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int32{}
			for _, target := range oldReplicaSetTargets(tc.d, tc.newRS, tc.old) {
				got[target.rs.Name] = target.replicas
			}
			if tc.want == nil {
				tc.want = map[string]int32{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProportionalSizes(t *testing.T) {
	// Mid-rollout of 10 replicas with maxSurge 3 (13 pods at most), scaled to 20.
	d := depTest(20, intstr.FromInt32(3), intstr.FromInt32(2))
	old := depTestRS(d, "old", time.Hour, 8, 8, 8)
	newRS := depTestRS(d, "new", time.Minute, 5, 5, 0)
	for _, rs := range []*appsv1.ReplicaSet{old, newRS} {
		setReplicasAnnotations(rs, 10, 13)
	}
	sizes := func(ts []rsTarget) map[string]int32 {
		out := map[string]int32{}
		for _, t := range ts {
			out[t.rs.Name] = t.replicas
		}
		return out
	}
	up := sizes(proportionalSizes(d, []*appsv1.ReplicaSet{newRS, old}))
	if diff := cmp.Diff(map[string]int32{"old": 14, "new": 9}, up); diff != "" {
		t.Errorf("scaled to 20 (-want +got):\n%s", diff)
	}
	// And back to 10 from there.
	old.Spec.Replicas, newRS.Spec.Replicas = ptr.To[int32](14), ptr.To[int32](9)
	for _, rs := range []*appsv1.ReplicaSet{old, newRS} {
		setReplicasAnnotations(rs, 20, 23)
	}
	d.Spec.Replicas = ptr.To[int32](10)
	down := sizes(proportionalSizes(d, []*appsv1.ReplicaSet{newRS, old}))
	if diff := cmp.Diff(map[string]int32{"old": 8, "new": 5}, down); diff != "" {
		t.Errorf("scaled back to 10 (-want +got):\n%s", diff)
	}
	// Scaled to zero: everything goes.
	d.Spec.Replicas = ptr.To[int32](0)
	zero := sizes(proportionalSizes(d, []*appsv1.ReplicaSet{newRS, old}))
	if diff := cmp.Diff(map[string]int32{"old": 0, "new": 0}, zero); diff != "" {
		t.Errorf("scaled to 0 (-want +got):\n%s", diff)
	}
}

func TestRolloutStatus(t *testing.T) {
	now := rsTestNow
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(1))
	d.Generation = 2
	cond := func(reason string, status corev1.ConditionStatus, updated, transitioned time.Time) appsv1.DeploymentCondition {
		return appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason,
			LastUpdateTime: metav1.NewTime(updated), LastTransitionTime: metav1.NewTime(transitioned)}
	}
	progressing := func(d *appsv1.Deployment) *appsv1.DeploymentCondition {
		return deploymentCondition(d.Status, appsv1.DeploymentProgressing)
	}
	t.Run("complete", func(t *testing.T) {
		d := d.DeepCopy()
		d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{cond(reasonReplicaSetUpdated, corev1.ConditionTrue, now.Add(-time.Minute), now.Add(-time.Hour))}}
		newRS := depTestRS(d, "web-1", 0, 3, 3, 3)
		d.Status = rolloutStatus(d, newRS, []*appsv1.ReplicaSet{depTestRS(d, "web-0", time.Hour, 0, 0, 0), newRS}, now)
		c := progressing(d)
		if c.Reason != reasonNewReplicaSetAvailable || c.Message != `ReplicaSet "web-1" has successfully progressed.` ||
			!c.LastTransitionTime.Time.Equal(now.Add(-time.Hour)) || !c.LastUpdateTime.Time.Equal(now) {
			t.Errorf("Progressing = %+v", c)
		}
		a := deploymentCondition(d.Status, appsv1.DeploymentAvailable)
		if a == nil || a.Status != corev1.ConditionTrue || a.Reason != reasonMinimumReplicasAvailable {
			t.Errorf("Available = %+v", a)
		}
		want := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
		got := d.Status
		got.Conditions = nil
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}
	})
	t.Run("progress moves the deadline", func(t *testing.T) {
		d := d.DeepCopy()
		d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{cond(reasonReplicaSetUpdated, corev1.ConditionTrue, now.Add(-time.Minute), now.Add(-time.Hour))}}
		newRS := depTestRS(d, "web-1", 0, 2, 2, 0)
		s := rolloutStatus(d, newRS, []*appsv1.ReplicaSet{depTestRS(d, "web-0", time.Hour, 2, 2, 2), newRS}, now)
		c := deploymentCondition(s, appsv1.DeploymentProgressing)
		if c.Reason != reasonReplicaSetUpdated || !c.LastUpdateTime.Time.Equal(now) || !c.LastTransitionTime.Time.Equal(now.Add(-time.Hour)) ||
			c.Message != `ReplicaSet "web-1" is progressing.` {
			t.Errorf("Progressing = %+v", c)
		}
		a := deploymentCondition(s, appsv1.DeploymentAvailable)
		if a == nil || a.Status != corev1.ConditionTrue {
			t.Errorf("Available = %+v, want True with 2 of 3 available and maxUnavailable 1", a)
		}
	})
	stuck := func(since time.Duration) *appsv1.Deployment {
		d := d.DeepCopy()
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{cond(reasonReplicaSetUpdated, corev1.ConditionTrue, now.Add(-since), now.Add(-time.Hour))}}
		return d
	}
	stuckRSs := func(d *appsv1.Deployment) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
		newRS := depTestRS(d, "web-1", 0, 1, 1, 0)
		return newRS, []*appsv1.ReplicaSet{depTestRS(d, "web-0", time.Hour, 3, 3, 3), newRS}
	}
	t.Run("deadline exceeded", func(t *testing.T) {
		d := stuck(11 * time.Minute)
		newRS, all := stuckRSs(d)
		s := rolloutStatus(d, newRS, all, now)
		c := deploymentCondition(s, appsv1.DeploymentProgressing)
		if c.Status != corev1.ConditionFalse || c.Reason != reasonProgressDeadlineExceeded || c.Message != `ReplicaSet "web-1" has timed out progressing.` {
			t.Errorf("Progressing = %+v", c)
		}
		if _, ok := progressCheckAfter(&appsv1.Deployment{Spec: d.Spec, Status: s}, &s, now); ok {
			t.Error("a timed-out rollout is checked again")
		}
	})
	t.Run("within the deadline", func(t *testing.T) {
		d := stuck(5 * time.Minute)
		before := *progressing(d)
		newRS, all := stuckRSs(d)
		d.Status = rolloutStatus(d, newRS, all, now)
		if diff := cmp.Diff(before, *progressing(d)); diff != "" {
			t.Errorf("Progressing changed (-before +after):\n%s", diff)
		}
		s := rolloutStatus(d, newRS, all, now)
		if diff := cmp.Diff(d.Status, s); diff != "" {
			t.Errorf("status changed on a second look (-before +after):\n%s", diff)
		}
		after, ok := progressCheckAfter(d, &s, now)
		if !ok || after != 5*time.Minute+time.Second {
			t.Errorf("next check in %v (%v), want 5m1s", after, ok)
		}
	})
	t.Run("replica failure copied", func(t *testing.T) {
		d := stuck(time.Minute)
		newRS, all := stuckRSs(d)
		newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			Reason: "FailedCreate", Message: "quota", LastTransitionTime: metav1.NewTime(now)}}
		s := rolloutStatus(d, newRS, all, now)
		if c := deploymentCondition(s, appsv1.DeploymentReplicaFailure); c == nil || c.Reason != "FailedCreate" || c.Message != "quota" {
			t.Errorf("ReplicaFailure = %+v", c)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		d := stuck(time.Minute)
		newRS := depTestRS(d, "web-1", 0, 3, 3, 1)
		s := rolloutStatus(d, newRS, []*appsv1.ReplicaSet{newRS}, now)
		a := deploymentCondition(s, appsv1.DeploymentAvailable)
		if a == nil || a.Status != corev1.ConditionFalse || a.Reason != reasonMinimumReplicasUnavail || s.UnavailableReplicas != 2 {
			t.Errorf("Available = %+v, unavailable %d", a, s.UnavailableReplicas)
		}
	})
}

func TestNewReplicaSetAnnotations(t *testing.T) {
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(1))
	d.Annotations = map[string]string{"team": "a", revisionAnnotation: "7", corev1.LastAppliedConfigAnnotation: "{}"}
	rs := &appsv1.ReplicaSet{}
	if !setNewReplicaSetAnnotations(d, rs, 1, false) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"team": "a", revisionAnnotation: "1", desiredReplicasAnnotation: "3", maxReplicasAnnotation: "4"}
	if diff := cmp.Diff(want, rs.Annotations); diff != "" {
		t.Errorf("new ReplicaSet (-want +got):\n%s", diff)
	}
	if setNewReplicaSetAnnotations(d, rs, 1, true) {
		t.Error("change reported for an up-to-date ReplicaSet")
	}
	// A rollback to it: it takes revision 4 and remembers 1, then 4 again later.
	setNewReplicaSetAnnotations(d, rs, 4, true)
	setNewReplicaSetAnnotations(d, rs, 6, true)
	if rs.Annotations[revisionAnnotation] != "6" || rs.Annotations[revisionHistoryAnnotation] != "1,4" {
		t.Errorf("after two rollbacks: %v", rs.Annotations)
	}
	long := strings.Repeat("1234567,", 300)
	if h := appendRevisionHistory(long[:len(long)-1], "9"); len(h) > maxRevisionHistoryChars || !strings.HasSuffix(h, ",9") {
		t.Errorf("history of %d chars ending %q", len(h), h[len(h)-4:])
	}
}

// depTestFixture is a Deployment controller over hand-fed caches and a fake client.
type depTestFixture struct {
	c      *deploymentController
	client *fake.Clientset
	sets   cache.Indexer
	deps   cache.Indexer
	rec    *record.FakeRecorder
}

// newDepTestFixture builds the fixture; objs are in the client and in the caches.
func newDepTestFixture(t *testing.T, objs ...runtime.Object) *depTestFixture {
	t.Helper()
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	f := &depTestFixture{client: fake.NewClientset(objs...), sets: idx(), deps: idx(), rec: record.NewFakeRecorder(100)}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.ReplicaSet:
			_ = f.sets.Add(o)
		case *appsv1.Deployment:
			_ = f.deps.Add(o)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.c = &deploymentController{
		client: f.client, deployments: appslisters.NewDeploymentLister(f.deps), sets: appslisters.NewReplicaSetLister(f.sets),
		pods: corelisters.NewPodLister(idx()), rec: f.rec, log: log, now: func() time.Time { return rsTestNow },
	}
	f.c.queue = newWorkQueue("deployment-test", log, f.c.sync)
	return f
}

// catchUp makes the caches show what the client holds.
func (f *depTestFixture) catchUp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sets, err := f.client.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.sets.Replace(nil, "")
	for i := range sets.Items {
		_ = f.sets.Add(&sets.Items[i])
	}
	deps, err := f.client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.deps.Replace(nil, "")
	for i := range deps.Items {
		_ = f.deps.Add(&deps.Items[i])
	}
}

// events drains the recorded events.
func (f *depTestFixture) events() []string {
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

func TestDeploymentCreatesReplicaSet(t *testing.T) {
	ctx := context.Background()
	d := depTest(3, intstr.FromString("25%"), intstr.FromString("25%"))
	f := newDepTestFixture(t, d)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	list, _ := f.client.AppsV1().ReplicaSets("ns").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 1 {
		t.Fatalf("%d ReplicaSets, want 1", len(list.Items))
	}
	rs := list.Items[0]
	hash := podTemplateHash(&d.Spec.Template, nil)
	if rs.Name != "web-"+hash {
		t.Errorf("name %q, want web-%s", rs.Name, hash)
	}
	wantLabels := map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash}
	if diff := cmp.Diff(wantLabels, rs.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLabels, rs.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLabels, rs.Spec.Template.Labels); diff != "" {
		t.Errorf("template labels (-want +got):\n%s", diff)
	}
	wantAnn := map[string]string{revisionAnnotation: "1", desiredReplicasAnnotation: "3", maxReplicasAnnotation: "4"}
	if diff := cmp.Diff(wantAnn, rs.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if *rs.Spec.Replicas != 3 || !metav1.IsControlledBy(&rs, d) {
		t.Errorf("replicas %d, owners %v", *rs.Spec.Replicas, rs.OwnerReferences)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != fmt.Sprintf("Normal ScalingReplicaSet Scaled up replica set web-%s to 3 from 0", hash) {
		t.Errorf("events = %q", ev)
	}
	got, _ := f.client.AppsV1().Deployments("ns").Get(ctx, "web", metav1.GetOptions{})
	if got.Annotations[revisionAnnotation] != "1" {
		t.Errorf("deployment revision %q, want 1", got.Annotations[revisionAnnotation])
	}
	c := deploymentCondition(got.Status, appsv1.DeploymentProgressing)
	if c == nil || c.Reason != reasonNewReplicaSetCreated || c.Message != fmt.Sprintf("Created new replica set %q", rs.Name) {
		t.Errorf("Progressing = %+v", c)
	}
	// The cache catches up: nothing more to create.
	f.catchUp(t)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.client.AppsV1().ReplicaSets("ns").List(ctx, metav1.ListOptions{}); len(list.Items) != 1 {
		t.Errorf("%d ReplicaSets after a second sync", len(list.Items))
	}
}

func TestDeploymentRollbackReusesReplicaSet(t *testing.T) {
	ctx := context.Background()
	d := depTest(3, intstr.FromInt32(1), intstr.FromInt32(0))
	v1 := depTestRS(d, "web-v1", 2*time.Hour, 0, 0, 0)
	v1.Annotations = map[string]string{revisionAnnotation: "1"}
	d2 := d.DeepCopy()
	d2.Spec.Template.Spec.Containers[0].Image = "v2"
	v2 := depTestRS(d2, "web-v2", time.Hour, 3, 3, 3)
	v2.Annotations = map[string]string{revisionAnnotation: "2", desiredReplicasAnnotation: "3", maxReplicasAnnotation: "4"}
	d.Annotations = map[string]string{revisionAnnotation: "2"}
	f := newDepTestFixture(t, d, v1, v2) // d's template is v1 again
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	got, _ := f.client.AppsV1().ReplicaSets("ns").Get(ctx, "web-v1", metav1.GetOptions{})
	if got.Annotations[revisionAnnotation] != "3" || got.Annotations[revisionHistoryAnnotation] != "1" {
		t.Errorf("old ReplicaSet annotations %v, want revision 3, history 1", got.Annotations)
	}
	f.catchUp(t)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	dep, _ := f.client.AppsV1().Deployments("ns").Get(ctx, "web", metav1.GetOptions{})
	if dep.Annotations[revisionAnnotation] != "3" {
		t.Errorf("deployment revision %q, want 3", dep.Annotations[revisionAnnotation])
	}
	if list, _ := f.client.AppsV1().ReplicaSets("ns").List(ctx, metav1.ListOptions{}); len(list.Items) != 2 {
		t.Errorf("%d ReplicaSets, want the 2 there were", len(list.Items))
	}
	got, _ = f.client.AppsV1().ReplicaSets("ns").Get(ctx, "web-v1", metav1.GetOptions{})
	if *got.Spec.Replicas != 1 {
		t.Errorf("reused ReplicaSet scaled to %d, want 1 (maxSurge)", *got.Spec.Replicas)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != "Normal ScalingReplicaSet Scaled up replica set web-v1 to 1 from 0" {
		t.Errorf("events = %q", ev)
	}
}

func TestOldPodsRunning(t *testing.T) {
	d := depTest(2, intstr.FromInt32(1), intstr.FromInt32(1))
	newRS := depTestRS(d, "new", 0, 0, 0, 0)
	old := depTestRS(d, "old", time.Hour, 0, 0, 0)
	pod := func(phase corev1.PodPhase, deleting bool) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{Time: rsTestNow}
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		oldStatus int32
		pods      map[types.UID][]*corev1.Pod
		want      bool
	}{
		{"none left", 0, map[types.UID][]*corev1.Pod{old.UID: nil}, false},
		{"status still counts one", 1, nil, true},
		{"terminating pod", 0, map[types.UID][]*corev1.Pod{old.UID: {pod(corev1.PodRunning, true)}}, true},
		{"unknown pod", 0, map[types.UID][]*corev1.Pod{old.UID: {pod(corev1.PodUnknown, false)}}, true},
		{"finished pods", 0, map[types.UID][]*corev1.Pod{old.UID: {pod(corev1.PodSucceeded, false), pod(corev1.PodFailed, true)}}, false},
		{"new pods do not count", 0, map[types.UID][]*corev1.Pod{newRS.UID: {pod(corev1.PodRunning, false)}}, false},
	} {
		old.Status.Replicas = tc.oldStatus
		if got := oldPodsRunning(newRS, []*appsv1.ReplicaSet{old}, tc.pods); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDeploymentCleanupKeepsHistoryLimit(t *testing.T) {
	ctx := context.Background()
	d := depTest(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	var objs []runtime.Object
	var old []*appsv1.ReplicaSet
	for i, spec := range []int32{0, 1, 0, 0} { // revisions 1..4; revision 2 still has a replica
		rs := depTestRS(d, fmt.Sprintf("rev%d", i+1), time.Duration(10-i)*time.Hour, spec, spec, spec)
		rs.Annotations = map[string]string{revisionAnnotation: fmt.Sprint(i + 1)}
		old = append(old, rs)
		objs = append(objs, rs)
	}
	f := newDepTestFixture(t, append(objs, d)...)
	if err := f.c.cleanup(ctx, d, old); err != nil {
		t.Fatal(err)
	}
	list, _ := f.client.AppsV1().ReplicaSets("ns").List(ctx, metav1.ListOptions{})
	var left []string
	for _, rs := range list.Items {
		left = append(left, rs.Name)
	}
	// The 3 oldest are over the limit of 1; rev2 still has a pod and stays.
	if diff := cmp.Diff([]string{"rev2", "rev4"}, left); diff != "" {
		t.Errorf("ReplicaSets left (-want +got):\n%s", diff)
	}
}

func TestScalingEventAndActiveOrLatest(t *testing.T) {
	d := depTest(5, intstr.FromInt32(1), intstr.FromInt32(1))
	a := depTestRS(d, "a", 2*time.Hour, 3, 3, 3)
	b := depTestRS(d, "b", time.Hour, 0, 0, 0)
	setReplicasAnnotations(a, 3, 4)
	setReplicasAnnotations(b, 3, 4)
	if !isScalingEvent(d, []*appsv1.ReplicaSet{a, b}) {
		t.Error("replicas 3 -> 5 is not a scaling event")
	}
	setReplicasAnnotations(a, 5, 6)
	if isScalingEvent(d, []*appsv1.ReplicaSet{a, b}) {
		t.Error("an inactive ReplicaSet's stale annotation made a scaling event")
	}
	if got := findActiveOrLatest(b, []*appsv1.ReplicaSet{a}); got != a {
		t.Errorf("active or latest = %v, want the only active one", got)
	}
	a.Spec.Replicas = ptr.To[int32](0)
	if got := findActiveOrLatest(nil, []*appsv1.ReplicaSet{a, b}); got != b {
		t.Errorf("none active: %v, want the newest", got.Name)
	}
	b.Spec.Replicas, a.Spec.Replicas = ptr.To[int32](1), ptr.To[int32](1)
	if got := findActiveOrLatest(b, []*appsv1.ReplicaSet{a}); got != nil {
		t.Errorf("two active: %v, want nil", got.Name)
	}
}
