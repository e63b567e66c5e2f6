package sync

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-dev/berth/apiserver/registry"
)

// driftDelay is how long after a change to a managed object its source syncs: long
// enough to gather a burst (a rollout, our own apply) into one sync, short enough that
// drift is undone within a second.
const driftDelay = 250 * time.Millisecond

// watchManaged watches every object that carries the source label, of every kind, and
// schedules a sync of its source when one changes or goes away: that is how drift
// is seen at once and health follows status changes.
func (c *Controller) watchManaged(ctx context.Context) error {
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dyn, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = SourceLabel })
	schedule := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		if owner, ok := ownerOf(u); ok && c.own.seen(owner.String(), u) {
			c.queue.AddAfter(owner.String(), driftDelay)
		}
	}
	var synced []cache.InformerSynced
	for _, k := range registry.All() {
		inf := f.ForResource(k.GroupVersionResource()).Informer()
		if err := inf.AddIndexers(cache.Indexers{ownerIndex: indexByOwner}); err != nil {
			return err
		}
		c.managed = append(c.managed, managedInformer{kind: k, store: inf.GetIndexer()})
		isSource := k.Kind == "GitSource"
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(old, cur any) {
				// A managed GitSource's own status writes are not drift.
				if isSource && old.(*unstructured.Unstructured).GetGeneration() == cur.(*unstructured.Unstructured).GetGeneration() {
					return
				}
				schedule(cur)
			},
			DeleteFunc: schedule,
		}); err != nil {
			return err
		}
		synced = append(synced, inf.HasSynced)
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	return nil
}

// ownerIndex indexes managed objects by the source that owns them.
const ownerIndex = "owner"

func indexByOwner(obj any) ([]string, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	if owner, ok := ownerOf(u); ok {
		return []string{owner.String()}, nil
	}
	return nil, nil
}

// managedInformer is the cache of one kind's managed objects.
type managedInformer struct {
	kind  *registry.Kind
	store cache.Indexer
}

// liveState is LiveState from the watch caches, which already hold every managed
// object: no listing of the whole source on each sync. The caches may lag a write a
// moment ago; an object known to exist (inSync) yet missing from them means they do,
// and the state is read from the API server instead.
func (c *Controller) liveState(ctx context.Context, source Source, desired []*Desired, inSync map[ID]string) (map[ID]*unstructured.Unstructured, error) {
	if len(c.managed) == 0 {
		return LiveState(ctx, c.dyn, source, desired)
	}
	live := map[ID]*unstructured.Unstructured{}
	for _, m := range c.managed {
		objs, err := m.store.ByIndex(ownerIndex, source.String())
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			u := o.(*unstructured.Unstructured)
			if u.GetKind() == "" {
				u = u.DeepCopy()
				u.SetGroupVersionKind(m.kind.GroupVersionKind())
			}
			live[IDOf(u)] = u
		}
	}
	for id := range inSync {
		if _, ok := live[id]; !ok {
			return LiveState(ctx, c.dyn, source, desired)
		}
	}
	return live, fillMissing(ctx, c.dyn, live, desired)
}
