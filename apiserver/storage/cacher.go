package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// CacherOptions tunes a watch cache.
type CacherOptions struct {
	// EventWindow is how many recent events are kept to resume watches (default 10000).
	EventWindow int
	// WatcherBuffer is how many events a slow watcher may lag before it is closed
	// and must watch again (default 1000).
	WatcherBuffer int
	// BookmarkInterval is how often watchers that allow bookmarks get one (default 30s).
	BookmarkInterval time.Duration
	// Logger receives cache warnings (default slog.Default()).
	Logger *slog.Logger
}

func (o *CacherOptions) setDefaults() {
	if o.EventWindow <= 0 {
		o.EventWindow = 10000
	}
	if o.WatcherBuffer <= 0 {
		o.WatcherBuffer = 1000
	}
	if o.BookmarkInterval <= 0 {
		o.BookmarkInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Cacher is the watch cache of one resource: the current objects, a window of recent
// changes, and the watchers they fan out to, all fed by one etcd watch.
type Cacher struct {
	store *Store
	opts  CacherOptions
	ready chan struct{}

	mu sync.RWMutex // guards the fields below
	// items holds the current objects by key.
	items *btree.BTreeG[*Entry]
	// rv is the revision the cache has caught up with.
	rv int64
	// rvChanged is closed and replaced whenever rv advances.
	rvChanged chan struct{}
	// window holds recent changes, oldest first, in a ring of opts.EventWindow.
	window      []change
	windowHead  int
	windowLen   int
	windowStart int64 // every change after windowStart is in the window
	watchers    map[int]*Watcher
	nextID      int
}

func newCacher(s *Store, opts CacherOptions) *Cacher {
	opts.setDefaults()
	return &Cacher{
		store:     s,
		opts:      opts,
		ready:     make(chan struct{}),
		items:     newTree(),
		rvChanged: make(chan struct{}),
		window:    make([]change, opts.EventWindow),
		watchers:  map[int]*Watcher{},
	}
}

func newTree() *btree.BTreeG[*Entry] {
	return btree.NewG(32, func(a, b *Entry) bool { return a.Key < b.Key })
}

// Ready is closed once the cache holds its first full list.
func (c *Cacher) Ready() <-chan struct{} { return c.ready }

// ResourceVersion returns the revision the cache has caught up with.
func (c *Cacher) ResourceVersion() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rv
}

// Run lists the resource and follows its etcd watch until ctx ends, listing again
// whenever the watch breaks.
func (c *Cacher) Run(ctx context.Context) error {
	bookmarks := time.NewTicker(c.opts.BookmarkInterval)
	defer bookmarks.Stop()
	defer c.closeWatchers()
	for {
		rev, err := c.relist(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.opts.Logger.Warn("watch cache list failed", "resource", c.store.kind.Resource, "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		err = c.follow(ctx, rev, bookmarks.C)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.opts.Logger.Warn("watch cache restarting", "resource", c.store.kind.Resource, "err", err)
	}
}

// relist replaces the cache's contents with a fresh list and returns its revision.
// Watchers are closed: they resume from their last revision, or relist on 410.
func (c *Cacher) relist(ctx context.Context) (int64, error) {
	entries, rev, err := c.store.listEtcd(ctx, c.store.prefix, "", 0, 0, Predicate{})
	if err != nil {
		return 0, err
	}
	tree := newTree()
	for _, e := range entries {
		tree.ReplaceOrInsert(e)
	}
	c.mu.Lock()
	c.items = tree
	c.windowLen, c.windowHead = 0, 0
	c.windowStart = rev
	for id, w := range c.watchers {
		w.closeLocked()
		delete(c.watchers, id)
	}
	c.advanceLocked(rev)
	c.mu.Unlock()
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	return rev, nil
}

// follow applies the etcd watch from rev+1 until it fails.
func (c *Cacher) follow(ctx context.Context, rev int64, bookmarks <-chan time.Time) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := c.store.client.Watch(wctx, c.store.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-bookmarks:
			c.sendBookmarks()
		case resp, ok := <-wch:
			if !ok {
				return errors.New("etcd watch closed")
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if resp.IsProgressNotify() {
				c.mu.Lock()
				c.advanceLocked(resp.Header.Revision)
				c.mu.Unlock()
				continue
			}
			c.apply(resp.Events)
		}
	}
}

// apply records a batch of etcd events and fans them out.
func (c *Cacher) apply(events []*clientv3.Event) {
	k, prefix := c.store.kind, c.store.prefix
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range events {
		key := string(ev.Kv.Key)
		rev := ev.Kv.ModRevision
		old, _ := c.items.Get(&Entry{Key: key})
		var ch change
		switch ev.Type {
		case mvccpb.PUT:
			e, err := newEntry(k, prefix, key, ev.Kv.Value, rev)
			if err != nil {
				c.opts.Logger.Error("watch cache: undecodable object", "key", key, "err", err)
				continue
			}
			c.items.ReplaceOrInsert(e)
			ch = change{typ: watch.Modified, cur: e, prev: old, rv: rev}
			if old == nil {
				ch.typ = watch.Added
			}
		case mvccpb.DELETE:
			if old == nil && ev.PrevKv != nil {
				old, _ = newEntry(k, prefix, key, ev.PrevKv.Value, ev.PrevKv.ModRevision)
			}
			c.items.Delete(&Entry{Key: key})
			if old == nil {
				continue
			}
			obj := old.Obj.DeepCopyObject()
			if err := setRV(obj, rev); err != nil {
				continue
			}
			last, err := entryFor(k, prefix, key, obj, rev)
			if err != nil {
				continue
			}
			ch = change{typ: watch.Deleted, cur: last, prev: old, rv: rev}
		}
		c.recordLocked(ch)
		for _, w := range c.watchers {
			w.offerLocked(ch)
		}
		c.advanceLocked(rev)
	}
}

// recordLocked appends a change to the window, evicting the oldest when full.
func (c *Cacher) recordLocked(ch change) {
	n := len(c.window)
	if c.windowLen == n {
		c.windowStart = c.window[c.windowHead].rv
		c.window[c.windowHead] = ch
		c.windowHead = (c.windowHead + 1) % n
		return
	}
	c.window[(c.windowHead+c.windowLen)%n] = ch
	c.windowLen++
}

// advanceLocked moves the cache's revision forward and wakes those waiting for it.
func (c *Cacher) advanceLocked(rev int64) {
	if rev <= c.rv {
		return
	}
	c.rv = rev
	close(c.rvChanged)
	c.rvChanged = make(chan struct{})
}

// Compacted tells the cache that etcd history before rev is gone: watches from
// older revisions get 410 Gone, as they would from etcd.
func (c *Cacher) Compacted(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev-1 > c.windowStart {
		c.windowStart = rev - 1
	}
}

// WaitFor blocks until the cache has caught up with rev, or the wait times out
// (a 504 "too large resource version" error) or ctx ends. While it waits it asks
// etcd for progress notifications every 100ms: etcd answers one only when every
// watch of the stream is in step, and a quiet resource gets no events to catch up by.
func (c *Cacher) WaitFor(ctx context.Context, rev int64, timeout time.Duration) error {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var poke <-chan time.Time
	for {
		c.mu.RLock()
		cur, changed := c.rv, c.rvChanged
		c.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		if poke == nil {
			_ = c.store.client.RequestProgress(context.Background())
			poke = time.After(100 * time.Millisecond)
		}
		select {
		case <-changed:
		case <-poke:
			poke = nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return tooLargeResourceVersion(rev, cur)
		}
	}
}

// Fresh makes the cache at least as new as etcd is now; it fails after timeout.
func (c *Cacher) Fresh(ctx context.Context, timeout time.Duration) error {
	rev, err := c.store.CurrentRevision(ctx)
	if err != nil {
		return err
	}
	return c.WaitFor(ctx, rev, timeout)
}

// Snapshot returns the entries under keyPrefix starting at startKey (inclusive) that
// match p, at most limit of them (0: all), the cache's revision, and how many more
// matching entries follow when the limit cut the list.
func (c *Cacher) Snapshot(keyPrefix, startKey string, limit int64, p Predicate) (items []*Entry, rev int64, more int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	from := keyPrefix
	if startKey > from {
		from = startKey
	}
	match := p.Empty()
	c.items.AscendGreaterOrEqual(&Entry{Key: from}, func(e *Entry) bool {
		if !strings.HasPrefix(e.Key, keyPrefix) {
			return false
		}
		if !match && !p.Matches(e) {
			return true
		}
		if limit > 0 && int64(len(items)) >= limit {
			more++
			return true
		}
		items = append(items, e)
		return true
	})
	return items, c.rv, more
}

// Get returns the cached entry of key, if any.
func (c *Cacher) Get(key string) (*Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.items.Get(&Entry{Key: key})
}

// closeWatchers ends every watch (the cache is stopping).
func (c *Cacher) closeWatchers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, w := range c.watchers {
		w.closeLocked()
		delete(c.watchers, id)
	}
}

// sendBookmarks gives each watcher that allows bookmarks the cache's revision.
func (c *Cacher) sendBookmarks() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.watchers {
		w.bookmarkLocked(c.rv)
	}
}

// CurrentRevision returns etcd's current revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, s.prefix, clientv3.WithCountOnly(), clientv3.WithLimit(1))
	if err != nil {
		return 0, storageError(err)
	}
	return resp.Header.Revision, nil
}

// listEtcd lists keys under keyPrefix from startKey on at revision rev (0: now),
// keeping those that match p, at most limit (0: all). It returns the revision read.
func (s *Store) listEtcd(ctx context.Context, keyPrefix, startKey string, rev, limit int64, p Predicate) ([]*Entry, int64, error) {
	const page = 1000
	from := keyPrefix
	if startKey > from {
		from = startKey
	}
	end := clientv3.GetPrefixRangeEnd(keyPrefix)
	var out []*Entry
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, from, opts...)
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return nil, 0, apierrors.NewResourceExpired(fmt.Sprintf("resource version %d is too old: it was compacted", rev))
			}
			return nil, 0, storageError(err)
		}
		if rev == 0 {
			// A read at an older revision reports the current one in its header: keep
			// the one asked for, so every page reads the same snapshot.
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			e, err := newEntry(s.kind, s.prefix, string(kv.Key), kv.Value, kv.ModRevision)
			if err != nil {
				return nil, 0, apierrors.NewInternalError(err)
			}
			if !p.Matches(e) {
				continue
			}
			out = append(out, e)
			if limit > 0 && int64(len(out)) > limit {
				return out, rev, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// defaultWaitTimeout bounds how long a request waits for the cache to catch up.
const defaultWaitTimeout = 3 * time.Second

// tooLargeResourceVersion is kube-apiserver's answer to a revision the cache has not
// reached in time: 504 with a ResourceVersionTooLarge cause, retry after a second.
func tooLargeResourceVersion(want, have int64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, have), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}
