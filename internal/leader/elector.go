package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"k8s.io/client-go/kubernetes"
)

// DefaultPrefix is the etcd key prefix of berth's election, outside the
// API server's /registry keys.
const DefaultPrefix = "/berth/leader/"

// DefaultTTL is the default session TTL: how long a leader that was killed
// or cut off from etcd keeps its leadership.
const DefaultTTL = 5 * time.Second

// Options configure an Elector.
type Options struct {
	// Client reaches the etcd cluster the election is held on. Required.
	Client *clientv3.Client
	// Identity names this candidate: it is the value of its election key and
	// the holder of the Lease. Required; unique among the candidates.
	Identity string
	// Lead runs while this candidate leads; its context ends when leadership
	// ends. It must return soon after. An error it returns while its context
	// is still live ends Run with that error (after resigning). Required.
	Lead func(ctx context.Context) error
	// Prefix is the etcd key prefix of the election (default DefaultPrefix).
	Prefix string
	// TTL is the session TTL, rounded up to whole seconds (default
	// DefaultTTL).
	TTL time.Duration
	// RetryInterval is the wait after etcd could not be reached (default 1s).
	RetryInterval time.Duration
	// Kube, if set, keeps the Lease kube-system/berth-leader naming the
	// leader while this candidate leads, as kube-controller-manager's
	// leader Lease does, for `kubectl get lease -n kube-system`.
	Kube kubernetes.Interface
	// Endpoint is the URL other candidates reach this one at (its API
	// server), written on the Lease (EndpointAnnotation) for Forward.
	Endpoint string
	// Logger receives the elector's logs (default slog.Default()).
	Logger *slog.Logger
}

// Elector campaigns for leadership and runs Options.Lead while it leads.
type Elector struct {
	opts Options
	log  *slog.Logger
	ttl  int // seconds

	mu      sync.Mutex // guards the fields below
	leading bool
	leader  string
}

// errLost is why a term ended without an error of the caller's.
var errLost = errors.New("leadership lost")

// New checks opts and fills in defaults.
func New(opts Options) (*Elector, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("leader: an etcd client is required")
	case opts.Identity == "":
		return nil, errors.New("leader: an identity is required")
	case opts.Lead == nil:
		return nil, errors.New("leader: a Lead function is required")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Elector{
		opts: opts,
		log:  opts.Logger.With("component", "leader", "identity", opts.Identity),
		ttl:  int(math.Ceil(opts.TTL.Seconds())),
	}, nil
}

// Leading reports whether this candidate leads now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader returns the identity of the leader as last observed, or "" when
// not known.
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

func (e *Elector) setLeading(v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = v
	if v {
		e.leader = e.opts.Identity
	}
}

func (e *Elector) setLeader(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leader = id
}

// Run campaigns, leads, and campaigns again after leadership is lost, until
// ctx ends. It returns nil when ctx ends, or the error of Lead.
func (e *Elector) Run(ctx context.Context) error {
	for {
		err := e.term(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var le *leadError
		switch {
		case errors.As(err, &le):
			return le.err
		case errors.Is(err, errLost):
			e.log.Warn("leadership lost; campaigning again")
			continue
		case err != nil:
			e.log.Warn("election", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.opts.RetryInterval):
		}
	}
}

// leadError is an error of Options.Lead, which ends Run.
type leadError struct{ err error }

func (l *leadError) Error() string { return l.err.Error() }

// term is one session: campaign, then lead until the session or ctx ends.
// The session's lease is revoked when term returns.
func (e *Elector) term(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, e.opts.TTL+5*time.Second)
	lease, err := e.opts.Client.Grant(gctx, int64(e.ttl))
	cancel()
	if err != nil {
		return fmt.Errorf("grant a session lease: %w", err)
	}
	// The session outlives ctx a little: a leader whose ctx ended still
	// resigns and revokes its lease with it.
	sess, err := concurrency.NewSession(e.opts.Client, concurrency.WithLease(lease.ID),
		concurrency.WithTTL(e.ttl), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return fmt.Errorf("start a session: %w", err)
	}
	defer func() {
		if err := sess.Close(); err != nil {
			e.log.Debug("revoke session lease", "err", err)
		}
	}()
	el := concurrency.NewElection(sess, e.opts.Prefix)

	// termCtx ends with ctx or with the session.
	termCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-sess.Done():
		case <-termCtx.Done():
		}
		stop()
	}()
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		e.observe(termCtx, el)
	}()
	defer func() { <-observed }()
	defer stop()

	if err := el.Campaign(termCtx, e.opts.Identity); err != nil {
		if termCtx.Err() != nil {
			return errLost
		}
		return fmt.Errorf("campaign: %w", err)
	}
	// Campaign also returns when the session ended while it waited (the
	// key it waited behind may be gone with its own); check it is still
	// ours.
	if termCtx.Err() != nil {
		return errLost
	}
	resp, err := e.opts.Client.Get(termCtx, el.Key())
	if err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != el.Rev() {
		return errLost
	}
	return e.lead(ctx, termCtx, el)
}

// lead runs Options.Lead (and the Lease keeper) until termCtx ends or Lead
// returns, waits for them, and resigns unless the session is already gone.
func (e *Elector) lead(ctx, termCtx context.Context, el *concurrency.Election) error {
	leadCtx, cancel := context.WithCancel(termCtx)
	defer cancel()
	e.setLeading(true)
	e.log.Info("became leader")
	var wg sync.WaitGroup
	if e.opts.Kube != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.keepLease(leadCtx)
		}()
	}
	done := make(chan error, 1)
	go func() { done <- e.opts.Lead(leadCtx) }()
	var err error
	select {
	case err = <-done:
	case <-leadCtx.Done():
		err = <-done
	}
	cancel()
	wg.Wait()
	e.setLeading(false)
	switch {
	case ctx.Err() != nil:
		e.resign(ctx, el)
		return nil
	case termCtx.Err() != nil:
		// The session ended under Lead; its error, if any, is an echo of that.
		return errLost
	}
	e.resign(ctx, el)
	if err != nil && !errors.Is(err, context.Canceled) {
		return &leadError{err}
	}
	return nil
}

// resign deletes this candidate's election key, so that the next one leads
// at once rather than after the TTL.
func (e *Elector) resign(ctx context.Context, el *concurrency.Election) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := el.Resign(rctx); err != nil {
		e.log.Warn("resign", "err", err)
		return
	}
	e.log.Info("resigned")
}

// observe keeps Leader up to date until ctx ends.
func (e *Elector) observe(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) > 0 {
			id := string(resp.Kvs[0].Value)
			if id != e.Leader() {
				e.log.Info("leader observed", "leader", id)
			}
			e.setLeader(id)
		}
	}
}
