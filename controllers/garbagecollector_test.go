package controllers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

var (
	configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	nodesGVR      = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
)

// gcTest is a garbage collector over a fake metadata client.
type gcTest struct {
	gc   *garbageCollector
	meta *fake.FakeMetadataClient
	rec  *record.FakeRecorder
}

// newGCTest starts a collector on configmaps (namespaced) and nodes (cluster-scoped)
// holding objs, with a synced cache; the collector's queue is not worked.
func newGCTest(t *testing.T, objs ...runtime.Object) *gcTest {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	meta := fake.NewSimpleMetadataClient(scheme, objs...)
	cc := &controllerContext{log: slog.New(slog.NewTextHandler(io.Discard, nil)), events: record.NewBroadcaster()}
	gc := newGarbageCollectorWith(cc, meta, nil)
	rec := record.NewFakeRecorder(100)
	gc.rec = rec
	factory := metadatainformer.NewSharedInformerFactory(meta, 0)
	err := gc.start([]apiResource{
		{gvr: configMapsGVR, kind: "ConfigMap", namespaced: true, verbs: allTestVerbs},
		{gvr: nodesGVR, kind: "Node", verbs: allTestVerbs},
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "events"}, kind: "Event", namespaced: true, verbs: allTestVerbs},
	}, factory)
	if err != nil {
		t.Fatal(err)
	}
	if len(gc.resources) != 2 {
		t.Errorf("watching %d resources, want 2 (events are ignored)", len(gc.resources))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	meta.ClearActions()
	return &gcTest{gc: gc, meta: meta, rec: rec}
}

func configMap(name string, owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1", OwnerReferences: owners},
	}
}

func cmOwner(name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: uid, BlockOwnerDeletion: &block}
}

func deleting(m *metav1.PartialObjectMetadata, finalizers ...string) *metav1.PartialObjectMetadata {
	now := metav1.NewTime(t0)
	m.DeletionTimestamp, m.Finalizers = &now, finalizers
	return m
}

// writes summarises the writes the collector made: "delete ns/name (policy)"
// and "patch ns/name {...}".
func (g *gcTest) writes() []string {
	var out []string
	for _, a := range g.meta.Actions() {
		switch a := a.(type) {
		case clienttesting.DeleteActionImpl:
			pp := ""
			if p := a.DeleteOptions.PropagationPolicy; p != nil {
				pp = string(*p)
			}
			uid := ""
			if p := a.DeleteOptions.Preconditions; p != nil && p.UID != nil {
				uid = string(*p.UID)
			}
			out = append(out, "delete "+objectName(a.Namespace, a.Name)+" ("+pp+", uid "+uid+")")
		case clienttesting.PatchActionImpl:
			var p struct {
				Metadata map[string]any `json:"metadata"`
			}
			_ = json.Unmarshal(a.Patch, &p)
			delete(p.Metadata, "uid")
			delete(p.Metadata, "resourceVersion")
			b, _ := json.Marshal(p.Metadata)
			out = append(out, "patch "+objectName(a.Namespace, a.Name)+" "+string(b))
		}
	}
	g.meta.ClearActions()
	return out
}

func (g *gcTest) sync(t *testing.T, res schema.GroupVersionResource, ns, name string) {
	t.Helper()
	if err := g.gc.sync(context.Background(), gcKey(g.gc.byGVR[res], ns, name)); err != nil {
		t.Fatalf("sync %s: %v", name, err)
	}
}

func TestGarbageCollectorDependents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		objs  []runtime.Object
		fresh bool // a live GET finds owner "fresh", which the cache has not seen
		item  string
		want  []string
	}{
		{
			name: "owner present",
			objs: []runtime.Object{configMap("owner"), configMap("child", cmOwner("owner", "uid-owner", true))},
			item: "child",
		},
		{
			name: "owner gone",
			objs: []runtime.Object{configMap("child", cmOwner("owner", "uid-owner", true))},
			item: "child", want: []string{"delete ns/child (Background, uid uid-child)"},
		},
		{
			name: "owner replaced by another with the same name",
			objs: []runtime.Object{configMap("owner"), configMap("child", cmOwner("owner", "uid-old", true))},
			item: "child", want: []string{"delete ns/child (Background, uid uid-child)"},
		},
		{
			name:  "owner not in the cache yet",
			objs:  []runtime.Object{configMap("child", cmOwner("fresh", "uid-fresh", true))},
			fresh: true, item: "child",
		},
		{
			name: "one owner of two gone",
			objs: []runtime.Object{configMap("a"), configMap("child", cmOwner("a", "uid-a", false), cmOwner("b", "uid-b", true))},
			item: "child",
			want: []string{`patch ns/child {"ownerReferences":[{"apiVersion":"v1","blockOwnerDeletion":false,"kind":"ConfigMap","name":"a","uid":"uid-a"}]}`},
		},
		{
			name: "owner deleting in foreground: dependent with dependents goes in foreground",
			objs: []runtime.Object{deleting(configMap("owner"), metav1.FinalizerDeleteDependents),
				configMap("child", cmOwner("owner", "uid-owner", true)), configMap("grandchild", cmOwner("child", "uid-child", true))},
			item: "child", want: []string{"delete ns/child (Foreground, uid uid-child)"},
		},
		{
			name: "unknown owner kind: kept",
			objs: []runtime.Object{configMap("child", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "uid-w"})},
			item: "child",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCTest(t, tc.objs...)
			if tc.fresh {
				g.meta.PrependReactor("get", "configmaps", func(a clienttesting.Action) (bool, runtime.Object, error) {
					if a.(clienttesting.GetAction).GetName() != "fresh" {
						return false, nil, nil
					}
					return true, configMap("fresh"), nil
				})
			}
			g.sync(t, configMapsGVR, "ns", tc.item)
			if diff := cmp.Diff(tc.want, g.writes()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGarbageCollectorInvalidNamespace(t *testing.T) {
	node := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "uid-n1", OwnerReferences: []metav1.OwnerReference{cmOwner("cm", "uid-cm", false)}},
	}
	g := newGCTest(t, node)
	g.sync(t, nodesGVR, "", "n1")
	if diff := cmp.Diff([]string{"delete n1 (Background, uid uid-n1)"}, g.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	select {
	case e := <-g.rec.Events:
		if !strings.HasPrefix(e, "Warning OwnerRefInvalidNamespace ") {
			t.Errorf("event %q", e)
		}
	default:
		t.Error("no OwnerRefInvalidNamespace event")
	}
}

func TestGarbageCollectorForeground(t *testing.T) {
	g := newGCTest(t,
		deleting(configMap("owner"), metav1.FinalizerDeleteDependents),
		configMap("blocker", cmOwner("owner", "uid-owner", true)),
		configMap("other", cmOwner("owner", "uid-owner", false)),
	)
	// The informer queued all three; drain that.
	waitFor(t, func() bool { return g.gc.queue.q.Len() == 3 })
	for g.gc.queue.q.Len() > 0 {
		k, _ := g.gc.queue.q.Get()
		g.gc.queue.q.Done(k)
	}
	// The owner waits for its blocking dependent, and queues both.
	g.sync(t, configMapsGVR, "ns", "owner")
	if w := g.writes(); len(w) != 0 {
		t.Errorf("writes %v while a dependent blocks", w)
	}
	if n := g.gc.queue.q.Len(); n != 2 {
		t.Errorf("queued %d dependents, want 2", n)
	}
	g.sync(t, configMapsGVR, "ns", "blocker")
	g.sync(t, configMapsGVR, "ns", "other")
	want := []string{"delete ns/blocker (Background, uid uid-blocker)", "delete ns/other (Background, uid uid-other)"}
	if diff := cmp.Diff(want, g.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	// The fake deleted both outright; once the cache has seen that, the finalizer goes.
	waitFor(t, func() bool { return len(g.gc.dependentsOf("uid-owner")) == 0 })
	g.sync(t, configMapsGVR, "ns", "owner")
	if diff := cmp.Diff([]string{`patch ns/owner {"finalizers":null}`}, g.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

func TestGarbageCollectorOrphan(t *testing.T) {
	g := newGCTest(t,
		deleting(configMap("owner"), metav1.FinalizerOrphanDependents, "example.com/keep"),
		configMap("a", cmOwner("owner", "uid-owner", true)),
		configMap("b", cmOwner("owner", "uid-owner", true), cmOwner("x", "uid-x", false)),
	)
	g.sync(t, configMapsGVR, "ns", "owner")
	got := g.writes()
	slices.Sort(got[:2])
	want := []string{
		`patch ns/a {"ownerReferences":null}`,
		`patch ns/b {"ownerReferences":[{"apiVersion":"v1","blockOwnerDeletion":false,"kind":"ConfigMap","name":"x","uid":"uid-x"}]}`,
		`patch ns/owner {"finalizers":["example.com/keep"]}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

func TestGCKey(t *testing.T) {
	g := newGCTest(t)
	res, ns, name, ok := g.gc.parseGCKey(gcKey(g.gc.byGVR[nodesGVR], "", "n1"))
	if !ok || res.gvr != nodesGVR || ns != "" || name != "n1" {
		t.Errorf("parse = %v %q %q %v", res, ns, name, ok)
	}
	if _, _, _, ok := g.gc.parseGCKey("apps|v1|widgets|ns|x"); ok {
		t.Error("a key of an unwatched resource parsed")
	}
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
