package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/testetcd"
)

// newTestStore runs a ConfigMap store with a small event window on an embedded etcd.
func newTestStore(t *testing.T, window int) (*Store, context.Context) {
	t.Helper()
	e := testetcd.StartEmbedded(t)
	s := NewStore(e.Client(), registry.ConfigMaps(), CacherOptions{EventWindow: window, BookmarkInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Cacher().Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-s.Cacher().Ready()
	return s, ctx
}

func create(t *testing.T, s *Store, ctx context.Context, name string, lbl map[string]string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbl}}
	obj, err := s.Create(ctx, "ns", name, cm, Txn{})
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*corev1.ConfigMap)
}

func recv(t *testing.T, w *Watcher) Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event in 5s")
	}
	return Event{}
}

// TestWindowOverflowIsGone: a watch from a revision older than the event window
// gets 410 Gone; from inside the window it gets exactly the later events.
func TestWindowOverflowIsGone(t *testing.T) {
	s, ctx := newTestStore(t, 4)
	var rvs []string
	for i := 0; i < 8; i++ {
		rvs = append(rvs, create(t, s, ctx, fmt.Sprintf("cm%d", i), nil).ResourceVersion)
	}
	if err := s.Cacher().WaitFor(ctx, mustRV(t, rvs[7]), time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := s.Cacher().Watch(ctx, WatchOptions{ResourceVersion: mustRV(t, rvs[1])})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("watch from before the window: %v, want 410 Expired", err)
	}
	w, err := s.Cacher().Watch(ctx, WatchOptions{ResourceVersion: mustRV(t, rvs[4])})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, want := range []string{"cm5", "cm6", "cm7"} {
		if ev := recv(t, w); ev.Entry.Name != want || ev.Type != watch.Added {
			t.Fatalf("got %s %s, want ADDED %s", ev.Type, ev.Entry.Name, want)
		}
	}
}

// TestSelectorTransitions: with a label selector, an object entering the selection is
// ADDED, one changing inside it MODIFIED, one leaving it DELETED; bookmarks come with
// the revision reached.
func TestSelectorTransitions(t *testing.T) {
	s, ctx := newTestStore(t, 100)
	sel, _ := labels.Parse("app=web")
	w, err := s.Cacher().Watch(ctx, WatchOptions{ResourceVersion: s.Cacher().ResourceVersion(), Predicate: Predicate{Label: sel}, Bookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	create(t, s, ctx, "a", map[string]string{"app": "db"})
	setLabel := func(v string) {
		_, err := s.Update(ctx, "ns", "a", func(cur runtime.Object) (Outcome, error) {
			cm := cur.(*corev1.ConfigMap)
			cm.Labels["app"] = v
			return Outcome{Obj: cm}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setLabel("web")
	setLabel("web")
	setLabel("cache")
	var got []watch.EventType
	for len(got) < 3 {
		if ev := recv(t, w); ev.Type != watch.Bookmark {
			got = append(got, ev.Type)
		}
	}
	want := []watch.EventType{watch.Added, watch.Modified, watch.Deleted}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	for {
		if ev := recv(t, w); ev.Type == watch.Bookmark {
			if ev.RV < s.Cacher().ResourceVersion()-1 {
				t.Errorf("bookmark at %d, cache at %d", ev.RV, s.Cacher().ResourceVersion())
			}
			break
		}
	}
}

// TestListPagingAndBadContinue: pages hold distinct items in key order; a forged
// continue token is a 400.
func TestListPagingAndBadContinue(t *testing.T) {
	s, ctx := newTestStore(t, 100)
	for i := 0; i < 7; i++ {
		create(t, s, ctx, fmt.Sprintf("cm%d", i), nil)
	}
	var names []string
	for cont := ""; ; {
		res, err := s.List(ctx, ListOptions{Limit: 3, Continue: cont})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Items {
			names = append(names, e.Name)
		}
		if cont = res.Continue; cont == "" {
			break
		}
	}
	if fmt.Sprint(names) != "[cm0 cm1 cm2 cm3 cm4 cm5 cm6]" {
		t.Errorf("paged names %v", names)
	}
	for _, bad := range []string{"!!!", "eyJ2IjoieCJ9", encodeContinue(5, "/registry/core/configmaps/../x", "/registry/core/configmaps/")} {
		if _, err := s.List(ctx, ListOptions{Continue: bad}); !apierrors.IsBadRequest(err) {
			t.Errorf("continue %q: %v, want 400", bad, err)
		}
	}
}

func mustRV(t *testing.T, rv string) int64 {
	n, err := ParseResourceVersion(rv)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
