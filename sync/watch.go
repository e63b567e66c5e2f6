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
		if owner, ok := ownerOf(u.GetLabels()); ok && c.own.seen(owner.String(), u) {
			c.queue.AddAfter(owner.String(), driftDelay)
		}
	}
	var synced []cache.InformerSynced
	for _, k := range registry.All() {
		inf := f.ForResource(k.GroupVersionResource()).Informer()
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
