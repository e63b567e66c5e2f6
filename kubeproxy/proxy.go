package kubeproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// DefaultClusterCIDR is the pod network when Options.ClusterCIDR is empty.
const DefaultClusterCIDR = "10.42.0.0/16"

// DefaultMinSyncPeriod is the least time between the starts of two syncs.
// A change after a quiet spell is applied at once; changes arriving
// faster are coalesced. Besides, two syncs start at least twice the last
// sync's duration apart, so a proxy under constant churn spends at most
// half its time syncing. From bench/kubeproxy.go on two cores: at 1,000
// Services a sync takes tens of milliseconds, so 100 ms keeps a rollout's
// endpoint changes (new pods Ready, old ones terminating, a moment apart)
// live within about 0.1 s of each other; at 10,000 Services a sync takes
// 0.5-1 s (mostly the kernel swapping the whole legacy nat table), and the
// spacing grows to 1-2 s by itself, as kube-proxy's fixed 1 s does.
const DefaultMinSyncPeriod = 100 * time.Millisecond

const (
	// fullSyncPeriod is how often every chain is rewritten even when
	// nothing changed, repairing whatever someone else did to them.
	fullSyncPeriod = time.Hour
	// checkPeriod is how often the jump rules from the built-in chains
	// are checked (and re-added if someone flushed them).
	checkPeriod = 30 * time.Second
	// retryPeriod is how long a failed sync waits before the next try.
	retryPeriod = 2 * time.Second
)

// Options configure a Proxy.
type Options struct {
	// Client talks to the API server.
	Client kubernetes.Interface
	// NodeName is the node this proxy runs on.
	NodeName string
	// NetNS is the path of the node's network namespace (for example
	// /run/netns/X); iptables and conntrack run inside it. Empty means
	// the process's own namespace.
	NetNS string
	// ClusterCIDR is the pod network (default DefaultClusterCIDR).
	ClusterCIDR string
	// MinSyncPeriod is the least time between syncs (default
	// DefaultMinSyncPeriod).
	MinSyncPeriod time.Duration
	// LBPool holds the addresses LoadBalancer Services get (--lb-pool).
	// Empty: every Service gets the InternalIPs of the Ready nodes.
	LBPool []netip.Prefix
	// Registerer gets the proxy's Prometheus metrics; nil means none.
	Registerer prometheus.Registerer
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Proxy keeps a node's iptables in step with the Services and
// EndpointSlices of the cluster. Build it with New and start it with Run.
type Proxy struct {
	opts        Options
	clusterCIDR netip.Prefix
	log         *slog.Logger
	runner      *runner
	metrics     *metrics

	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	nodes     corelisters.NodeLister
	triggered chan struct{} // one pending sync request

	mu sync.Mutex // guards the fields below
	// changedAt is when the oldest change not yet applied happened.
	changedAt time.Time

	// Owned by Run's loop.
	builder  Builder
	prev     *RuleSet  // the rule set last applied; nil forces a full sync
	lastFull time.Time // when the last full sync ran
}

// New checks opts and the iptables tools and returns a Proxy.
func New(opts Options) (*Proxy, error) {
	if opts.Client == nil {
		return nil, errors.New("kubeproxy: Options.Client is nil")
	}
	if opts.NodeName == "" {
		return nil, errors.New("kubeproxy: Options.NodeName is empty")
	}
	if opts.ClusterCIDR == "" {
		opts.ClusterCIDR = DefaultClusterCIDR
	}
	cidr, err := netip.ParsePrefix(opts.ClusterCIDR)
	if err != nil || !cidr.Addr().Is4() {
		return nil, fmt.Errorf("kubeproxy: cluster CIDR %q is not an IPv4 prefix", opts.ClusterCIDR)
	}
	if opts.MinSyncPeriod <= 0 {
		opts.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := newRunner(opts.NetNS)
	if err != nil {
		return nil, fmt.Errorf("kubeproxy: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("kubeproxy: %w", err)
	}
	return &Proxy{
		opts:        opts,
		clusterCIDR: cidr.Masked(),
		log:         opts.Logger.With("component", "kubeproxy", "node", opts.NodeName),
		runner:      r,
		metrics:     m,
		triggered:   make(chan struct{}, 1),
	}, nil
}

// Run watches Services, EndpointSlices and Nodes and syncs the rules until
// ctx ends; it returns ctx's error. The rules stay in place when it
// returns: a restarted proxy takes them over without a gap (its first
// sync rewrites every chain in one transaction and deletes the chains of
// Services that are gone).
func (p *Proxy) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(p.opts.Client, 0)
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	nodeInf := factory.Core().V1().Nodes()
	p.services, p.slices, p.nodes = svcInf.Lister(), sliceInf.Lister(), nodeInf.Lister()
	for _, inf := range []cache.SharedIndexInformer{svcInf.Informer(), sliceInf.Informer(), nodeInf.Informer()} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { p.changed(obj) },
			UpdateFunc: func(_, obj any) { p.changed(obj) },
			DeleteFunc: func(obj any) { p.changed(obj) },
		}); err != nil {
			return fmt.Errorf("kubeproxy: add event handler: %w", err)
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("kubeproxy: sync informer cache of %v", typ)
		}
	}
	p.log.Info("caches synced, starting syncs", "minSyncPeriod", p.opts.MinSyncPeriod, "netns", p.opts.NetNS)
	return p.loop(ctx)
}

// changed records a change and asks for a sync.
func (p *Proxy) changed(obj any) {
	at := time.Now()
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
		if v, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.Before(at) {
				at = t
			}
		}
	}
	if _, ok := obj.(*corev1.Node); ok && len(p.opts.LBPool) > 0 {
		return // nodes only matter for the pool-less LoadBalancer status
	}
	p.mu.Lock()
	if p.changedAt.IsZero() || at.Before(p.changedAt) {
		p.changedAt = at
	}
	p.mu.Unlock()
	p.trigger()
}

// trigger asks for a sync; requests made before it starts coalesce.
func (p *Proxy) trigger() {
	select {
	case p.triggered <- struct{}{}:
	default:
	}
}

// loop runs syncs: at once at start, then on each trigger, at most once
// per MinSyncPeriod or twice the last sync's duration, whichever is
// longer, and on the check and retry timers.
func (p *Proxy) loop(ctx context.Context) error {
	check := time.NewTicker(checkPeriod)
	defer check.Stop()
	var retry <-chan time.Time
	var last time.Time
	var lastTook time.Duration // how long the last sync ran
	checkDue := false
	for {
		if !last.IsZero() {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-p.triggered:
			case <-retry:
			case <-check.C:
				checkDue = true
			}
		}
		if wait := max(p.opts.MinSyncPeriod, 2*lastTook) - time.Since(last); !last.IsZero() && wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		// A trigger that arrived while waiting is covered by this sync.
		select {
		case <-p.triggered:
		default:
		}
		last = time.Now()
		retry = nil
		err := p.sync(ctx, checkDue)
		lastTook = time.Since(last)
		checkDue = false
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Error("sync failed; retrying", "err", err, "in", retryPeriod)
			retry = time.After(retryPeriod)
		}
	}
}

// sync builds the rule set from the caches and applies what changed.
func (p *Proxy) sync(ctx context.Context, check bool) error {
	start := time.Now()
	p.mu.Lock()
	changedAt := p.changedAt
	p.changedAt = time.Time{}
	p.mu.Unlock()
	restoreChange := func() {
		p.mu.Lock()
		if !changedAt.IsZero() && (p.changedAt.IsZero() || changedAt.Before(p.changedAt)) {
			p.changedAt = changedAt
		}
		p.mu.Unlock()
	}

	svcs, err := p.services.List(labels.Everything())
	if err != nil {
		restoreChange()
		return fmt.Errorf("list services: %w", err)
	}
	sliceList, err := p.slices.List(labels.Everything())
	if err != nil {
		restoreChange()
		return fmt.Errorf("list endpoint slices: %w", err)
	}
	buildStart := time.Now()
	rs := p.builder.Build(Input{Services: svcs, Slices: sliceList, Node: Node{Name: p.opts.NodeName, ClusterCIDR: p.clusterCIDR}})
	built := time.Since(buildStart)
	full := p.prev == nil || time.Since(p.lastFull) > fullSyncPeriod
	var st tableState
	if full || check {
		if st, err = p.runner.state(ctx); err != nil {
			restoreChange()
			p.metrics.failed()
			return err
		}
	}
	if check && !full && !hasChains(st.own, p.prev) {
		full = true // someone deleted a chain of ours: rewrite them all
	}
	var data []byte
	if full {
		data = rs.Full(st.own)
	} else {
		data = rs.Update(p.prev)
	}
	restoreStart := time.Now()
	if data != nil {
		if err := p.runner.restore(ctx, data); err != nil {
			restoreChange()
			p.prev = nil // the kernel's state is unknown: rewrite everything next time
			p.metrics.failed()
			return err
		}
	}
	if len(st.missing) > 0 {
		p.log.Info("adding jump rules to the built-in chains", "count", len(st.missing))
		if err := p.runner.addJumps(st.missing); err != nil {
			p.prev = nil
			p.metrics.failed()
			return err
		}
	}
	applied := time.Now()
	for _, args := range staleUDP(p.prev, rs) {
		if err := p.runner.deleteConntrack(ctx, args); err != nil {
			p.log.Warn("flush stale UDP conntrack entries", "err", err)
		}
	}
	if full {
		p.lastFull = start
	}
	p.prev = rs
	p.metrics.synced(applied, applied.Sub(start), changedAt)
	p.log.Debug("synced", "full", full, "bytes", len(data), "ports", len(rs.Ports), "took", applied.Sub(start),
		"build", built, "restore", applied.Sub(restoreStart))

	nodes, err := p.nodes.List(labels.Everything())
	if err == nil {
		err = writeLoadBalancerStatus(ctx, p.opts.Client, svcs, loadBalancerIngress(svcs, nodes, p.opts.LBPool))
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("load balancer status", "err", err)
	}
	return nil
}

// failed counts a failed sync.
func (m *metrics) failed() {
	if m != nil {
		m.syncErrors.Inc()
	}
}

// synced records a sync that applied the rules at applied and took took,
// for changes since changedAt (zero: none).
func (m *metrics) synced(applied time.Time, took time.Duration, changedAt time.Time) {
	if m == nil {
		return
	}
	m.syncDuration.Observe(took.Seconds())
	m.lastSync.Set(float64(applied.UnixNano()) / 1e9)
	if !changedAt.IsZero() {
		m.programmingLatency.Observe(applied.Sub(changedAt).Seconds())
	}
}

// hasChains is whether every chain of rs is among own (by table).
func hasChains(own map[string][]string, rs *RuleSet) bool {
	for table, chains := range rs.Tables {
		have := map[string]bool{}
		for _, c := range own[table] {
			have[c] = true
		}
		for c := range chains {
			if !have[c] {
				return false
			}
		}
	}
	return true
}
