package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Options configure a Scheduler. Only Config is required.
type Options struct {
	// Config is the admin client config of the API server. Its QPS and Burst,
	// when zero, become 5000 and 10000: client-go's default of 5 requests a
	// second would throttle the bindings.
	Config *rest.Config
	// Logger receives the scheduler's logs; nil means slog.Default().
	Logger *slog.Logger
	// SchedulerName selects the pods to schedule: those whose spec.schedulerName
	// is this (default "default-scheduler"). It is also the source of the events.
	SchedulerName string
	// Parallelism is how many goroutines filter and score nodes for one pod
	// (default GOMAXPROCS).
	Parallelism int
	// BindWorkers bounds the bindings in flight (default 64). The scheduling
	// loop waits for a free one before it places the next pod.
	BindWorkers int
	// PodInitialBackoff and PodMaxBackoff bound the wait before a pod whose
	// attempt failed is tried again: the initial backoff doubles with each
	// attempt up to the maximum (default 1s and 10s).
	PodInitialBackoff, PodMaxBackoff time.Duration
}

// Timings of the loop, as kube-scheduler's.
const (
	// assumedTTL is how long an assumed pod whose binding succeeded waits for the
	// informer to report it bound before it is forgotten.
	assumedTTL = 30 * time.Second
	// maxParked is how long a pod stays unschedulable without a cluster event
	// before it is tried again; checked every maxParked, so a pod waits less
	// than twice that.
	maxParked = 30 * time.Second
	// backoffTick is how often pods whose backoff ended move to active.
	backoffTick = 100 * time.Millisecond
	// expireTick is how often expired assumed pods are forgotten.
	expireTick = time.Second
)

// Scheduler assigns pending pods to nodes through the API server, as
// kube-scheduler does: informers feed a queue of pending pods and a cache of the
// nodes and their pods; one loop pops a pod, places it with the pure core (Filter,
// Score) on a sample of the nodes, assumes it in the cache and binds it
// asynchronously. Create one with New and start it with Run.
type Scheduler struct {
	opts    Options
	log     *slog.Logger
	client  kubernetes.Interface
	factory informers.SharedInformerFactory
	queue   *queue
	cache   *clusterCache
	// binds holds a token per binding or status write in flight.
	binds chan struct{}
	// writes tracks the goroutines of bindings and status writes.
	writes  sync.WaitGroup
	started atomic.Bool

	// recorder writes events; set by Run.
	recorder record.EventRecorder
}

// New checks the options, fills in defaults and builds a Scheduler. It starts
// nothing; Run does.
func New(o Options) (*Scheduler, error) {
	if o.Config == nil {
		return nil, errors.New("scheduler: Options.Config is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SchedulerName == "" {
		o.SchedulerName = corev1.DefaultSchedulerName
	}
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.BindWorkers <= 0 {
		o.BindWorkers = 64
	}
	if o.PodInitialBackoff <= 0 {
		o.PodInitialBackoff = time.Second
	}
	if o.PodMaxBackoff <= 0 {
		o.PodMaxBackoff = 10 * time.Second
	}
	if o.PodMaxBackoff < o.PodInitialBackoff {
		return nil, fmt.Errorf("scheduler: PodMaxBackoff %v is less than PodInitialBackoff %v", o.PodMaxBackoff, o.PodInitialBackoff)
	}
	cfg := rest.CopyConfig(o.Config)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 5000, 10000
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("scheduler: client: %w", err)
	}
	return &Scheduler{
		opts: o, log: o.Logger, client: client,
		factory: informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripManagedFields)),
		queue:   newQueue(o.PodInitialBackoff, o.PodMaxBackoff, time.Now),
		cache:   newCache(assumedTTL, time.Now),
		binds:   make(chan struct{}, o.BindWorkers),
	}, nil
}

// stripManagedFields drops what the scheduler never reads from the informers'
// objects, to save memory.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// Run schedules pods until ctx is cancelled, then waits for the bindings in
// flight and returns nil. It returns an error if the informers cannot start. A
// Scheduler runs once.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("scheduler: Run called twice")
	}
	// The events outlive ctx a little: bindings that finish as it ends still
	// record theirs.
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ecancel()
	events := record.NewBroadcaster(record.WithContext(ectx))
	defer events.Shutdown()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	s.recorder = events.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: s.opts.SchedulerName})

	pods := s.factory.Core().V1().Pods().Informer()
	nodes := s.factory.Core().V1().Nodes().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete,
	}); err != nil {
		return fmt.Errorf("scheduler: watch pods: %w", err)
	}
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete,
	}); err != nil {
		return fmt.Errorf("scheduler: watch nodes: %w", err)
	}
	s.factory.Start(ctx.Done())
	defer s.factory.Shutdown()
	for typ, ok := range s.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: %v informer did not sync", typ)
		}
	}
	s.log.Info("scheduler started", "name", s.opts.SchedulerName, "nodes", s.cache.Counts().nodes)

	var loops sync.WaitGroup
	loops.Add(1)
	go func() {
		defer loops.Done()
		s.housekeep(ctx)
	}()
	for {
		qp, pod, ok := s.queue.Pop()
		if !ok {
			break
		}
		s.scheduleOne(ctx, qp, pod)
	}
	loops.Wait()
	s.writes.Wait()
	s.log.Info("scheduler stopped")
	return nil
}

// housekeep runs the queue's and the cache's timers until ctx ends, then closes
// the queue.
func (s *Scheduler) housekeep(ctx context.Context) {
	defer s.queue.Close()
	backoff, expire, parked := time.NewTicker(backoffTick), time.NewTicker(expireTick), time.NewTicker(maxParked)
	defer backoff.Stop()
	defer expire.Stop()
	defer parked.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-backoff.C:
			s.queue.FlushBackoff()
		case <-parked.C:
			s.queue.FlushUnschedulable(maxParked)
		case <-expire.C:
			for _, p := range s.cache.Expire() {
				s.log.Warn("assumed pod expired: its binding was never seen", "pod", podKey(p), "node", p.Spec.NodeName)
			}
		}
	}
}

// scheduleOne places one pod: it assumes it on the best node found and binds it in
// the background, or reports it unschedulable and parks it.
func (s *Scheduler) scheduleOne(ctx context.Context, qp *queuedPod, pod *corev1.Pod) {
	pl, err := s.cache.PlaceAndAssume(newPodInfo(pod), s.opts.Parallelism)
	if err != nil { // bound or assumed already: nothing to do
		s.queue.Done(qp)
		return
	}
	if pl.node == "" {
		s.queue.Unschedulable(qp)
		s.reportUnschedulable(ctx, pod, Unschedulable(pl.nodes, pl.result.reasons))
		return
	}
	s.bind(ctx, qp, pod, pl.node)
}

// async runs fn in the background as one of the BindWorkers writes in flight,
// waiting for a free slot first; it returns false when ctx ended first.
func (s *Scheduler) async(ctx context.Context, fn func()) bool {
	select {
	case s.binds <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	s.writes.Add(1)
	go func() {
		defer func() { <-s.binds; s.writes.Done() }()
		fn()
	}()
	return true
}
