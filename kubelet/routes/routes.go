package routes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-dev/berth/kubelet/network"
)

// Defaults of [Options].
const (
	// DefaultResyncPeriod is how often the routes are checked against the
	// nodes when nothing changes, as flannel's host-gw checks its routes:
	// routes the kernel dropped with a link that went down return within it.
	DefaultResyncPeriod = 10 * time.Second
	// DefaultRetryPeriod is how long a failed sync waits before the next.
	DefaultRetryPeriod = 2 * time.Second
)

// Options configures a [Routes].
type Options struct {
	// Client talks to the API server; it needs list and watch on Nodes.
	Client kubernetes.Interface
	// NodeName is this node's Node: its own pod CIDR gets no route.
	NodeName string
	// NetNS is the path of the node's network namespace (such as
	// /run/netns/node-1), where the routes are kept; empty: the process's
	// own.
	NetNS string
	// ResyncPeriod is how often the routes are checked when no Node
	// changes; zero: DefaultResyncPeriod.
	ResyncPeriod time.Duration
	// RetryPeriod is how long a failed sync waits before the next; zero:
	// DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Logger gets the route changes; nil discards them.
	Logger *slog.Logger
}

// Routes keeps the routes to the other nodes' pod CIDRs in step with the
// Node objects. Build one with [New] and call Run once.
type Routes struct {
	opts      Options
	log       *slog.Logger
	nodes     corelisters.NodeLister
	triggered chan struct{}
	// unreachable holds the routes whose gateway the kernel found off every
	// network of the node (EINVAL, "Nexthop has invalid gateway"), such as the addresses of nodes on
	// another network. Only full syncs try them again, so a cluster of many
	// such nodes costs no netlink requests per Node event. Only the loop's
	// goroutine uses it.
	unreachable map[Route]bool
}

// New checks opts and fills in the defaults.
func New(opts Options) (*Routes, error) {
	if opts.Client == nil {
		return nil, errors.New("routes: Options.Client is nil")
	}
	if opts.NodeName == "" {
		return nil, errors.New("routes: Options.NodeName is empty")
	}
	if opts.ResyncPeriod <= 0 {
		opts.ResyncPeriod = DefaultResyncPeriod
	}
	if opts.RetryPeriod <= 0 {
		opts.RetryPeriod = DefaultRetryPeriod
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Routes{
		opts:      opts,
		log:       opts.Logger.With("component", "routes", "node", opts.NodeName),
		triggered: make(chan struct{}, 1),

		unreachable: map[Route]bool{},
	}, nil
}

// Run watches the Nodes and keeps the routes until ctx ends, then returns
// ctx's error. Its first sync, once the Node cache is filled, also removes
// the stale routes a previous run left. The routes stay when it returns.
func (r *Routes) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(r.opts.Client, 0)
	inf := factory.Core().V1().Nodes()
	r.nodes = inf.Lister()
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { r.trigger() },
		UpdateFunc: func(any, any) { r.trigger() },
		DeleteFunc: func(any) { r.trigger() },
	}); err != nil {
		return fmt.Errorf("routes: add event handler: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("routes: sync informer cache of %v", typ)
		}
	}
	r.log.Info("node cache synced, keeping routes", "netns", r.opts.NetNS, "protocol", Protocol)
	return r.loop(ctx)
}

// trigger asks for a sync; requests made before it starts coalesce.
func (r *Routes) trigger() {
	select {
	case r.triggered <- struct{}{}:
	default:
	}
}

// loop syncs at once, then on each Node change, every ResyncPeriod, and
// RetryPeriod after a failure. The first sync and those of the resync
// timer are full: they also try the routes found unreachable before.
func (r *Routes) loop(ctx context.Context) error {
	resync := time.NewTicker(r.opts.ResyncPeriod)
	defer resync.Stop()
	var retry <-chan time.Time
	full := true
	for {
		retry = nil
		if err := r.sync(full); err != nil {
			r.log.Error("sync routes failed; retrying", "err", err, "in", r.opts.RetryPeriod)
			retry = time.After(r.opts.RetryPeriod)
		}
		full = false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.triggered:
		case <-resync.C:
			full = true
		case <-retry:
		}
	}
}

// sync makes the node's routes of protocol Protocol those the cached Nodes
// want. It carries on past a route that fails, and returns the first error;
// a gateway the node cannot reach is no error (it is logged once, and tried
// again by full syncs only).
func (r *Routes) sync(full bool) error {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	want := Desired(r.opts.NodeName, nodes)
	return r.inNetNS(func() error {
		have, err := listRoutes(Protocol)
		if err != nil {
			return err
		}
		write, remove := Diff(have, want)
		var errs []error
		for _, rt := range remove {
			if err := deleteRoute(rt, Protocol); err != nil {
				errs = append(errs, err)
				continue
			}
			r.log.Info("route removed", "route", rt.String())
		}
		for _, rt := range write {
			if r.unreachable[rt] && !full {
				continue
			}
			err := writeRoute(rt, Protocol)
			switch {
			case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENETUNREACH):
				// "Nexthop has invalid gateway": not on a network the
				// node is on.
				if !r.unreachable[rt] {
					r.log.Warn("gateway not on any network of the node; route left out", "route", rt.String(), "err", err)
				}
				r.unreachable[rt] = true
				continue
			case err != nil:
				errs = append(errs, err)
				continue
			}
			delete(r.unreachable, rt)
			r.log.Info("route written", "route", rt.String())
		}
		for rt := range r.unreachable {
			if !slices.Contains(want, rt) {
				delete(r.unreachable, rt)
			}
		}
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	})
}

// inNetNS runs fn in the node's network namespace.
func (r *Routes) inNetNS(fn func() error) error {
	if r.opts.NetNS == "" {
		return fn()
	}
	return network.Do(r.opts.NetNS, fn)
}
