package integration

import (
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// TestSharedInformer: a client-go shared informer syncs, follows creates, updates and
// deletes in its lister, and resyncs its handlers on schedule.
func TestSharedInformer(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	pods := shared.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(c, pod(ns, "before", map[string]string{"app": "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := informers.NewSharedInformerFactoryWithOptions(shared.Client, time.Second, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods()
	var adds, updates, deletes atomic.Int32
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { adds.Add(1) },
		UpdateFunc: func(_, _ any) { updates.Add(1) },
		DeleteFunc: func(any) { deletes.Add(1) },
	})
	stop := make(chan struct{})
	defer close(stop)
	f.Start(stop)
	if !cache.WaitForCacheSync(c.Done(), inf.Informer().HasSynced) {
		t.Fatal("informer did not sync")
	}
	lister := inf.Lister().Pods(ns)
	if _, err := lister.Get("before"); err != nil {
		t.Fatalf("lister after sync: %v", err)
	}
	if _, err := pods.Create(c, pod(ns, "after", map[string]string{"app": "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "lister to see the new pod", func() bool {
		l, _ := lister.List(labels.Everything())
		return len(l) == 2
	})
	p, _ := pods.Get(c, "after", metav1.GetOptions{})
	p.Labels["app"] = "y"
	if _, err := pods.Update(c, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "lister to see the update", func() bool {
		got, err := lister.Get("after")
		return err == nil && got.Labels["app"] == "y"
	})
	if err := pods.Delete(c, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "lister to see the delete", func() bool {
		_, err := lister.Get("before")
		return err != nil
	})
	// Resync every second calls UpdateFunc for every cached pod without any change.
	before := updates.Load()
	eventually(t, 10*time.Second, "a resync", func() bool { return updates.Load() >= before+2 })
	if adds.Load() != 2 || deletes.Load() != 1 {
		t.Errorf("handlers saw %d adds and %d deletes, want 2 and 1", adds.Load(), deletes.Load())
	}
}
