package hollow

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Fleet runs hollow nodes over one pod informer.
type Fleet struct {
	client  kubernetes.Interface
	workers int
	queue   workqueue.TypedRateLimitingInterface[string]

	mu    sync.Mutex // guards the fields below
	nodes map[string]*Node
	pods  cache.Indexer // set by Run
}

// NewFleet builds an empty fleet; Add nodes and Run it.
func NewFleet(client kubernetes.Interface) *Fleet {
	return &Fleet{
		client:  client,
		workers: 64,
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		nodes:   map[string]*Node{},
	}
}

// Add registers a node (a Node object reported Ready, and its Lease) and keeps it
// alive until ctx ends or Stop.
func (f *Fleet) Add(ctx context.Context, o Options) (*Node, error) {
	if o.Name == "" {
		return nil, fmt.Errorf("hollow: a node needs a name")
	}
	o.defaults()
	n := &Node{opts: o, client: f.client, ips: map[string]string{}, used: map[string]bool{}}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.nodes[o.Name] = n
	f.mu.Unlock()
	go n.heartbeat(ctx)
	go f.watchResume(ctx, n)
	f.requeueNode(o.Name)
	return n, nil
}

// watchResume requeues a node's pods each time it comes back from Stop.
func (f *Fleet) watchResume(ctx context.Context, n *Node) {
	for {
		n.mu.Lock()
		stopped, resume := n.stopped, n.resume
		n.mu.Unlock()
		if !stopped {
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-resume:
			f.requeueNode(n.opts.Name)
		}
	}
}

// requeueNode queues every pod known to be bound to the node.
func (f *Fleet) requeueNode(name string) {
	f.mu.Lock()
	pods := f.pods
	f.mu.Unlock()
	if pods == nil {
		return
	}
	objs, _ := pods.ByIndex("node", name)
	for _, obj := range objs {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			f.queue.Add(key)
		}
	}
}

// Run watches pods and plays the kubelet for those bound to the fleet's nodes,
// until ctx ends.
func (f *Fleet) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(f.client, 0)
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{"node": func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return err
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			f.queue.Add(key)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				if n := f.node(p.Spec.NodeName); n != nil {
					n.forget(string(p.UID))
				}
			}
		},
	}); err != nil {
		return err
	}
	f.mu.Lock()
	f.pods = inf.GetIndexer()
	f.mu.Unlock()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer f.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil
	}
	for range f.workers {
		go func() {
			for f.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	return nil
}

func (f *Fleet) node(name string) *Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[name]
}

func (f *Fleet) next(ctx context.Context) bool {
	key, quit := f.queue.Get()
	if quit {
		return false
	}
	defer f.queue.Done(key)
	if err := f.sync(ctx, key); err != nil && ctx.Err() == nil {
		f.queue.AddRateLimited(key)
		return true
	}
	f.queue.Forget(key)
	return true
}

// sync plays the kubelet for one pod: it finishes the deletion of a terminating
// pod, and otherwise reports the pod's outcome.
func (f *Fleet) sync(ctx context.Context, key string) error {
	f.mu.Lock()
	obj, exists, err := f.pods.GetByKey(key)
	f.mu.Unlock()
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	n := f.node(pod.Spec.NodeName)
	if n == nil {
		return nil
	}
	n.busy.RLock()
	defer n.busy.RUnlock()
	if n.Stopped() {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		zero := int64(0)
		err := f.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	decide := n.opts.Outcome
	if decide == nil {
		decide = AnnotationOutcome
	}
	out := decide(pod)
	if out.Phase == "" {
		out.Phase = corev1.PodRunning
	}
	now := time.Now()
	started := now
	if pod.Status.StartTime != nil {
		started = pod.Status.StartTime.Time
	}
	if wait := started.Add(out.After).Sub(now); out.After > 0 && wait > 0 {
		f.queue.AddAfter(key, wait)
		out = Outcome{Phase: corev1.PodRunning, NotReady: true}
	}
	status := n.podStatus(pod, out, started)
	if statusEqual(pod.Status, status) {
		return nil
	}
	pod = pod.DeepCopy()
	pod.Status = status
	_, err = f.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
