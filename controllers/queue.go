package controllers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// workQueue is a rate-limited queue of namespace/name keys and the reconcile that
// drains it. A key is never worked on by two workers at once; a failed reconcile is
// retried with per-key exponential backoff, a conflict at once.
type workQueue struct {
	name string
	q    workqueue.TypedRateLimitingInterface[string]
	sync func(ctx context.Context, key string) error
	log  *slog.Logger
}

func newWorkQueue(name string, log *slog.Logger, sync func(ctx context.Context, key string) error) *workQueue {
	return &workQueue{
		name: name,
		q: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		sync: sync,
		log:  log.With("controller", name),
	}
}

// add queues the key of an informer object (tombstones included).
func (w *workQueue) add(obj any) {
	if key, ok := keyOf(obj); ok {
		w.q.Add(key)
	}
}

// addKey queues a key.
func (w *workQueue) addKey(key string) { w.q.Add(key) }

// addAfter queues a key once d has passed.
func (w *workQueue) addAfter(key string, d time.Duration) { w.q.AddAfter(key, d) }

// handler queues the object on every add, update and delete.
func (w *workQueue) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    w.add,
		UpdateFunc: func(_, cur any) { w.add(cur) },
		DeleteFunc: w.add,
	}
}

// run works the queue with n workers until ctx ends.
func (w *workQueue) run(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	w.q.ShutDown()
	wg.Wait()
}

// next reconciles one key; false once the queue is shut down.
func (w *workQueue) next(ctx context.Context) bool {
	key, quit := w.q.Get()
	if quit {
		return false
	}
	defer w.q.Done(key)
	err := w.sync(ctx, key)
	switch {
	case err == nil:
		w.q.Forget(key)
	case ctx.Err() != nil:
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		// The cache was behind the API server: retry soon, without a warning.
		w.log.Debug("retry", "key", key, "err", err)
		w.q.AddRateLimited(key)
	default:
		w.log.Warn("reconcile failed", "key", key, "err", err)
		w.q.AddRateLimited(key)
	}
	return true
}
