package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Options configures the controller manager.
type Options struct {
	// Config is an admin client config of the API server.
	Config *rest.Config
	// Logger is where controllers log; nil means slog.Default().
	Logger *slog.Logger
	// Workers is the number of workers each controller runs (default 4).
	Workers int
	// Controllers names the controllers to run (default: all of Names()).
	Controllers []string

	// NodeMonitorPeriod is how often node health is checked (default 5s).
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without renewing its Lease
	// (or posting status) before it is marked NotReady/Unknown (default 40s).
	NodeMonitorGracePeriod time.Duration
	// PodEvictionTimeout is how long a node stays NotReady or unreachable before its
	// pods are deleted so their owners recreate them elsewhere (default 60s).
	PodEvictionTimeout time.Duration
	// JobPodFailureBackoff is how long a Job waits before replacing a failed pod,
	// doubled for each further failure up to 10 minutes (default 10s).
	JobPodFailureBackoff time.Duration
}

// Manager runs the controllers on one shared informer factory.
type Manager struct {
	opts      Options
	client    kubernetes.Interface
	informers informers.SharedInformerFactory
	events    record.EventBroadcaster
	log       *slog.Logger
	ctrls     []namedController
}

// controller is one control loop; run blocks until ctx ends.
type controller interface {
	run(ctx context.Context, workers int)
}

type namedController struct {
	name string
	c    controller
}

// controllerContext is what a controller is built from.
type controllerContext struct {
	client    kubernetes.Interface
	informers informers.SharedInformerFactory
	opts      Options
	log       *slog.Logger
	events    record.EventBroadcaster
}

// recorder returns an event recorder that signs events with component.
func (cc *controllerContext) recorder(component string) record.EventRecorder {
	return cc.events.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: component})
}

// constructors builds each controller by name, in start order.
var constructors = []struct {
	name string
	new  func(*controllerContext) (controller, error)
}{
	{"serviceaccount", newServiceAccountController},
	{"namespace", newNamespaceController},
	{"garbagecollector", newGarbageCollector},
	{"replicaset", newReplicaSetController},
	{"deployment", newDeploymentController},
	{"daemonset", newDaemonSetController},
	{"job", newJobController},
	{"endpointslice", newEndpointSliceController},
	{"nodelifecycle", newNodeLifecycleController},
}

// Names lists the controllers a Manager can run.
func Names() []string {
	out := make([]string, len(constructors))
	for i, c := range constructors {
		out[i] = c.name
	}
	return out
}

// New builds a Manager and its controllers; their informers start with Run.
func New(opts Options) (*Manager, error) {
	if opts.Config == nil {
		return nil, fmt.Errorf("controllers: a client config is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.NodeMonitorPeriod <= 0 {
		opts.NodeMonitorPeriod = 5 * time.Second
	}
	if opts.NodeMonitorGracePeriod <= 0 {
		opts.NodeMonitorGracePeriod = 40 * time.Second
	}
	if opts.PodEvictionTimeout <= 0 {
		opts.PodEvictionTimeout = 60 * time.Second
	}
	if opts.JobPodFailureBackoff <= 0 {
		opts.JobPodFailureBackoff = 10 * time.Second
	}
	if len(opts.Controllers) == 0 {
		opts.Controllers = Names()
	}
	for _, name := range opts.Controllers {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("controllers: unknown controller %q (known: %v)", name, Names())
		}
	}
	cfg := rest.CopyConfig(opts.Config)
	if cfg.QPS == 0 { // client-go's default of 5 requests a second would throttle every controller
		cfg.QPS, cfg.Burst = 5000, 10000
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("controllers: %w", err)
	}
	m := &Manager{
		opts:      opts,
		client:    client,
		informers: informers.NewSharedInformerFactory(client, 0),
		events:    record.NewBroadcaster(),
		log:       opts.Logger,
	}
	cc := &controllerContext{client: client, informers: m.informers, opts: opts, log: opts.Logger, events: m.events}
	for _, c := range constructors {
		if !slices.Contains(opts.Controllers, c.name) {
			continue
		}
		ctrl, err := c.new(cc)
		if err != nil {
			return nil, fmt.Errorf("controllers: %s: %w", c.name, err)
		}
		m.ctrls = append(m.ctrls, namedController{c.name, ctrl})
	}
	return m, nil
}

// Run starts the informers, waits for their caches, and runs every controller until
// ctx ends. It returns nil when ctx is cancelled.
func (m *Manager) Run(ctx context.Context) error {
	m.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: m.client.CoreV1().Events("")})
	defer m.events.Shutdown()
	m.informers.Start(ctx.Done())
	defer m.informers.Shutdown()
	for typ, ok := range m.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("controllers: cache of %v did not sync", typ)
		}
	}
	var wg sync.WaitGroup
	for _, c := range m.ctrls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.log.Debug("controller started", "controller", c.name)
			c.c.run(ctx, m.opts.Workers)
		}()
	}
	wg.Wait()
	return nil
}

// keyOf is the namespace/name key of an informer object, tombstones included.
func keyOf(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}
