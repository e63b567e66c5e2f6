package integration

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testetcd"
	"github.com/berth-dev/berth/internal/testserver"
)

// storageSuite checks the storage contract through the API: create, read, list with
// paging, watch from a resourceVersion, optimistic concurrency and delete. It runs
// against each real backend.
func storageSuite(t *testing.T, ts *testserver.Server) {
	c := ctx(t)
	ns := testNamespace(t, ts)
	cms := ts.Client.CoreV1().ConfigMaps(ns)
	start, err := cms.List(c, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(c, metav1.ListOptions{ResourceVersion: start.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const n = 30
	for i := 0; i < n; i++ {
		if _, err := cms.Create(c, configMap(ns, fmt.Sprintf("cm-%02d", i), "v"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		ev := next(t, w)
		if want := fmt.Sprintf("cm-%02d", i); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != want {
			t.Fatalf("watch event %d: %s %s, want ADDED %s", i, ev.Type, ev.Object.(*corev1.ConfigMap).Name, want)
		}
	}
	seen := 0
	for cont := ""; ; {
		page, err := cms.List(c, metav1.ListOptions{Limit: 7, Continue: cont})
		if err != nil {
			t.Fatal(err)
		}
		seen += len(page.Items)
		if cont = page.Continue; cont == "" {
			break
		}
	}
	if seen != n {
		t.Errorf("paged list: %d, want %d", seen, n)
	}
	a, _ := cms.Get(c, "cm-00", metav1.GetOptions{})
	b := a.DeepCopy()
	a.Data["v"] = "a"
	if _, err := cms.Update(c, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(c, b, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v, want Conflict", err)
	}
	if err := cms.Delete(c, "cm-01", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Type != watch.Modified {
		t.Errorf("after update: %s", ev.Type)
	}
	if ev := next(t, w); ev.Type != watch.Deleted {
		t.Errorf("after delete: %s", ev.Type)
	}
}

// TestStorageSuiteEmbeddedEtcd runs the storage suite on the embedded etcd.
func TestStorageSuiteEmbeddedEtcd(t *testing.T) {
	storageSuite(t, shared)
}

// TestStorageSuiteExternalEtcdCluster runs the storage suite on an external
// three-member etcd cluster (Debian's etcd-server), then kills a member while
// writers run: writes go on, and every acknowledged write is there at the end.
func TestStorageSuiteExternalEtcdCluster(t *testing.T) {
	cluster := testetcd.StartCluster(t, 3)
	ts := testserver.Start(t, apiserver.Options{EtcdEndpoints: cluster.Endpoints()})
	storageSuite(t, ts)

	ns := testNamespace(t, ts)
	cms := ts.Client.CoreV1().ConfigMaps(ns)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		acked   []string
		failed  atomic.Int32
		afterOK atomic.Int32
		killed  atomic.Bool
	)
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%04d", g, i)
				if _, err := cms.Create(ctx, configMap(ns, name, "v"), metav1.CreateOptions{}); err != nil {
					failed.Add(1)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
				if killed.Load() {
					afterOK.Add(1)
				}
			}
		}(g)
	}
	time.Sleep(time.Second)
	cluster.Kill(0)
	killed.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for afterOK.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if afterOK.Load() < 100 {
		t.Fatalf("only %d writes succeeded in 30s after a member was killed (%d failed)", afterOK.Load(), failed.Load())
	}
	t.Logf("%d writes acknowledged, %d after the kill, %d failed (retried) around it", len(acked), afterOK.Load(), failed.Load())
	for _, name := range acked {
		if _, err := cms.Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("acknowledged %s: %v", name, err)
		}
	}
	// The survivors still serve lists and watches.
	storageSuite(t, ts)
}
