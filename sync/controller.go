package sync

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/manifests"
)

// Options configure the sync controller.
type Options struct {
	// Config reaches the API server with a token that may write (admin).
	Config *rest.Config
	// DataDir holds the git mirrors, in DataDir/git/<namespace>/<name>.
	DataDir string
	// Workers is how many sources sync at once (default 2).
	Workers int
	// Logger receives the controller's logs (default slog.Default()).
	Logger *slog.Logger
}

// Controller syncs every GitSource in the API server.
type Controller struct {
	opts     Options
	dyn      dynamic.Interface
	client   kubernetes.Interface
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	events   record.EventBroadcaster
	log      *slog.Logger

	own     *ownWrites
	sources cache.Store       // the GitSources, as the informer has them
	managed []managedInformer // set by watchManaged before the workers start

	mu     gosync.Mutex // guards states
	states map[string]*sourceState
}

// sourceState is what the controller keeps of one source between syncs.
type sourceState struct {
	mirror *Mirror
	// cache keeps decoded manifest files; desired, their plan inputs.
	cache   *manifests.Cache
	desired map[*manifests.Object]*Desired
	// inSync holds the resourceVersion at which each object last matched git.
	inSync map[ID]string
}

var gitSourcesGVR = registry.GitSources().GroupVersionResource()

// New builds a controller.
func New(opts Options) (*Controller, error) {
	if opts.Config == nil || opts.DataDir == "" {
		return nil, fmt.Errorf("sync: a client config and a data dir are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := rest.CopyConfig(opts.Config)
	if cfg.QPS == 0 { // client-go's default of 5 requests a second would throttle a large sync
		cfg.QPS, cfg.Burst = 1000, 2000
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	events := record.NewBroadcaster()
	return &Controller{
		opts: opts, dyn: dyn, client: client, log: opts.Logger,
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		events:   events,
		recorder: events.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "berth-sync"}),
		own:      newOwnWrites(),
		states:   map[string]*sourceState{},
	}, nil
}

// Trigger syncs the source namespace/name now (a webhook's push).
func (c *Controller) Trigger(namespace, name string) {
	c.queue.Add(namespace + "/" + name)
}

// Run syncs sources until ctx ends: each on its interval, on changes to it, and on Trigger.
func (c *Controller) Run(ctx context.Context) error {
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.events.Shutdown()
	defer c.queue.ShutDown()
	inf := dynamicinformer.NewFilteredDynamicInformer(c.dyn, gitSourcesGVR, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(old, cur any) {
			// Status writes of our own come back as updates: only spec changes matter.
			if old.(*unstructured.Unstructured).GetGeneration() != cur.(*unstructured.Unstructured).GetGeneration() {
				enqueue(cur)
			}
		},
	}); err != nil {
		return err
	}
	c.sources = inf.GetStore()
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	if err := c.watchManaged(ctx); err != nil {
		return err
	}
	var wg gosync.WaitGroup
	for i := 0; i < c.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.work(ctx, inf.GetStore()) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

// work syncs one source from the queue; false when the queue is shut down.
func (c *Controller) work(ctx context.Context, store cache.Store) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	obj, exists, err := store.GetByKey(key)
	if err != nil || !exists {
		c.queue.Forget(key)
		c.dropState(key)
		return true
	}
	var src berthv1.GitSource
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.(*unstructured.Unstructured).Object, &src); err != nil {
		c.log.Error("sync: undecodable GitSource", "source", key, "err", err)
		return true
	}
	interval := 5 * time.Second
	if src.Spec.Interval != nil && src.Spec.Interval.Duration > 0 {
		interval = src.Spec.Interval.Duration
	}
	c.sync(ctx, &src)
	c.queue.Forget(key)
	c.queue.AddAfter(key, interval)
	return true
}

// state returns what the controller keeps of a source, opening its git mirror.
func (c *Controller) state(src *berthv1.GitSource) (*sourceState, error) {
	key := src.Namespace + "/" + src.Name
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.states[key]; ok && st.mirror.url == normalizeURL(src.Spec.URL) {
		return st, nil
	}
	m, err := OpenMirror(filepath.Join(c.opts.DataDir, "git", src.Namespace, src.Name), src.Spec.URL)
	if err != nil {
		return nil, err
	}
	st := &sourceState{mirror: m, cache: manifests.NewCache(), desired: map[*manifests.Object]*Desired{}, inSync: map[ID]string{}}
	c.states[key] = st
	return st, nil
}

func (c *Controller) dropState(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.states, key)
}
