package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// next reads one watch event or fails after a timeout.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event in 10s")
	}
	return watch.Event{}
}

// TestWatchOrderAndResume: events arrive in resourceVersion order with the right types,
// and a watch resumed from any resourceVersion delivers exactly what came after it.
func TestWatchOrderAndResume(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	list, err := cms.List(c, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var rvs []string
	for i := 0; i < 5; i++ {
		cm, err := cms.Create(c, configMap(ns, fmt.Sprintf("cm-%d", i), "a"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rvs = append(rvs, cm.ResourceVersion)
	}
	cm, _ := cms.Get(c, "cm-2", metav1.GetOptions{})
	cm.Data["v"] = "b"
	cm, err = cms.Update(c, cm, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rvs = append(rvs, cm.ResourceVersion)
	if err := cms.Delete(c, "cm-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []watch.EventType{watch.Added, watch.Added, watch.Added, watch.Added, watch.Added, watch.Modified, watch.Deleted}
	var got []*corev1.ConfigMap
	for i, typ := range want {
		ev := next(t, w)
		if ev.Type != typ {
			t.Fatalf("event %d: %s, want %s", i, ev.Type, typ)
		}
		got = append(got, ev.Object.(*corev1.ConfigMap))
	}
	for i := 0; i < 6; i++ {
		if got[i].ResourceVersion != rvs[i] {
			t.Errorf("event %d resourceVersion %s, want %s", i, got[i].ResourceVersion, rvs[i])
		}
	}
	if got[6].Name != "cm-0" {
		t.Errorf("deleted %s, want cm-0", got[6].Name)
	}

	// Resume after the third create: the rest, in order.
	w2, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: rvs[2]})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	for i, want := range []string{"cm-3", "cm-4", "cm-2", "cm-0"} {
		ev := next(t, w2)
		if name := ev.Object.(*corev1.ConfigMap).Name; name != want {
			t.Fatalf("resumed event %d: %s %s, want %s", i, ev.Type, name, want)
		}
	}
}

// TestWatchSelectors: a label-selected watch sees an object enter its selection as
// ADDED and leave it as DELETED; a field-selected watch sees only its pod.
func TestWatchSelectors(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	pods := shared.Client.CoreV1().Pods(ns)
	w, err := pods.Watch(c, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := pods.Create(c, pod(ns, "a", map[string]string{"tier": "db"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, _ := pods.Get(c, "a", metav1.GetOptions{})
	p.Labels["tier"] = "web"
	if p, err = pods.Update(c, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Type != watch.Added {
		t.Fatalf("entering the selection: %s, want ADDED", ev.Type)
	}
	p.Labels["tier"] = "cache"
	if _, err = pods.Update(c, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Type != watch.Deleted {
		t.Fatalf("leaving the selection: %s, want DELETED", ev.Type)
	}

	fw, err := pods.Watch(c, metav1.ListOptions{FieldSelector: "metadata.name=b"})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Stop()
	pods.Create(c, pod(ns, "c", nil), metav1.CreateOptions{})
	pods.Create(c, pod(ns, "b", nil), metav1.CreateOptions{})
	if ev := next(t, fw); ev.Object.(*corev1.Pod).Name != "b" {
		t.Fatalf("field-selected watch got %s", ev.Object.(*corev1.Pod).Name)
	}
}

// TestWatchBookmarks: a watch that allows bookmarks gets BOOKMARK events carrying a
// resourceVersion, and a watch-list (sendInitialEvents) ends its initial events with
// the annotated bookmark.
func TestWatchBookmarks(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	cms.Create(c, configMap(ns, "one", "1"), metav1.CreateOptions{})
	list, _ := cms.List(c, metav1.ListOptions{})
	w, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cms.Create(c, configMap(ns, "two", "2"), metav1.CreateOptions{})
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Bookmark {
				if ev.Object.(*corev1.ConfigMap).ResourceVersion == "" {
					t.Fatal("bookmark without resourceVersion")
				}
				done = true
			}
		case <-deadline:
			t.Fatal("no bookmark in 15s (the shared server sends them every second)")
		}
	}

	yes := true
	wl, err := cms.Watch(c, metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Stop()
	added := 0
	for {
		ev := next(t, wl)
		if ev.Type == watch.Added {
			added++
			continue
		}
		if ev.Type != watch.Bookmark || ev.Object.(*corev1.ConfigMap).Annotations["k8s.io/initial-events-end"] != "true" {
			t.Fatalf("after %d initial events: %s, want the initial-events-end bookmark", added, ev.Type)
		}
		break
	}
	if added != 2 {
		t.Errorf("initial events: %d, want 2", added)
	}
}

// TestWatchGoneAfterCompaction: a watch from a resourceVersion that etcd compacted away
// ends with 410 Gone (Expired), so clients relist.
func TestWatchGoneAfterCompaction(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	first, err := cms.Create(c, configMap(ns, "old", "1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms.Create(c, configMap(ns, "mid", "1"), metav1.CreateOptions{})
	last, _ := cms.Create(c, configMap(ns, "new", "1"), metav1.CreateOptions{})
	// Compacting at last's revision drops what came after first (mid's revision).
	rev, _ := parseRV(last.ResourceVersion)
	if err := shared.Compact(c, rev); err != nil {
		t.Fatalf("compact: %v", err)
	}
	w, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err == nil {
		defer w.Stop()
		ev := next(t, w)
		if ev.Type != watch.Error {
			t.Fatalf("watch from a compacted revision: %s event, want ERROR", ev.Type)
		}
		err = apierrors.FromObject(ev.Object)
	}
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("watch from compacted revision: %v, want 410 Expired", err)
	}
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != http.StatusGone {
		t.Errorf("status code: %v, want 410", err)
	}
	// A list from the same old revision, exactly, is gone too.
	_, err = cms.List(c, metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("exact list at compacted revision: %v, want 410", err)
	}
}

func parseRV(rv string) (int64, error) {
	var n int64
	_, err := fmt.Sscan(rv, &n)
	return n, err
}
