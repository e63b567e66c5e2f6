package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"strconv"
)

// WatchOptions say what a watch delivers.
type WatchOptions struct {
	// KeyPrefix limits the watch to keys under it, relative to the resource's
	// prefix ("NAMESPACE/"); empty: the whole resource.
	KeyPrefix string
	Predicate Predicate
	// ResourceVersion: 0 starts with the current objects as ADDED events; N resumes
	// after revision N (410 Gone when N is older than the cache's window).
	ResourceVersion int64
	// SendInitialEvents sends the current objects first even with a ResourceVersion,
	// then a bookmark marking their end (the watch-list protocol).
	SendInitialEvents bool
	// Bookmarks asks for periodic BOOKMARK events.
	Bookmarks bool
}

// Watcher is one client's watch on a Cacher.
type Watcher struct {
	c    *Cacher
	id   int
	opts WatchOptions
	// ch carries live changes; out is what the client reads: initial events first.
	ch      chan Event
	out     chan Event
	initial []Event
	done    chan struct{}
	stop    sync.Once
	closed  bool  // guarded by c.mu
	lastRV  int64 // guarded by c.mu: the revision of the last event offered
	dropped bool  // guarded by c.mu: closed because it lagged behind
}

// Watch starts a watch. The caller must Stop it.
func (c *Cacher) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if opts.ResourceVersion > 0 {
		if err := c.WaitFor(ctx, opts.ResourceVersion, defaultWaitTimeout); err != nil {
			return nil, err
		}
	}
	opts.KeyPrefix = c.store.prefix + opts.KeyPrefix
	w := &Watcher{c: c, opts: opts, ch: make(chan Event, c.opts.WatcherBuffer), out: make(chan Event, 128), done: make(chan struct{})}

	c.mu.Lock()
	switch {
	case opts.ResourceVersion == 0 || opts.SendInitialEvents:
		c.items.AscendGreaterOrEqual(&Entry{Key: opts.KeyPrefix}, func(e *Entry) bool {
			if !strings.HasPrefix(e.Key, opts.KeyPrefix) {
				return false
			}
			if w.selects(e) {
				w.initial = append(w.initial, Event{Type: watch.Added, Entry: e, RV: e.RV})
			}
			return true
		})
		if opts.SendInitialEvents {
			w.initial = append(w.initial, Event{Type: watch.Bookmark, RV: c.rv, InitialEventsEnd: true})
		}
	default:
		if opts.ResourceVersion < c.windowStart {
			start := c.windowStart
			c.mu.Unlock()
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", opts.ResourceVersion, start+1))
		}
		n := len(c.window)
		for i := 0; i < c.windowLen; i++ {
			ch := c.window[(c.windowHead+i)%n]
			if ch.rv <= opts.ResourceVersion {
				continue
			}
			if ev, ok := w.translate(ch); ok {
				w.initial = append(w.initial, ev)
			}
		}
	}
	w.lastRV = c.rv
	w.id = c.nextID
	c.nextID++
	c.watchers[w.id] = w
	c.mu.Unlock()

	go w.forward()
	return w, nil
}

// selects says whether the watcher wants entry e.
func (w *Watcher) selects(e *Entry) bool {
	if !strings.HasPrefix(e.Key, w.opts.KeyPrefix) {
		return false
	}
	return w.opts.Predicate.Matches(e)
}

// translate turns a change into the event this watcher sees: an object that enters
// its selection is ADDED, one that leaves it DELETED, as kube-apiserver does.
func (w *Watcher) translate(ch change) (Event, bool) {
	cur := ch.typ != watch.Deleted && w.selects(ch.cur)
	prev := ch.prev != nil && w.selects(ch.prev)
	switch {
	case ch.typ == watch.Deleted && prev:
		return Event{Type: watch.Deleted, Entry: ch.cur, RV: ch.rv}, true
	case ch.typ == watch.Deleted:
		return Event{}, false
	case cur && prev:
		return Event{Type: watch.Modified, Entry: ch.cur, RV: ch.rv}, true
	case cur:
		return Event{Type: watch.Added, Entry: ch.cur, RV: ch.rv}, true
	case prev:
		return Event{Type: watch.Deleted, Entry: ch.cur, RV: ch.rv}, true
	}
	return Event{}, false
}

// offerLocked hands a live change to the watcher, closing it if its buffer is full.
func (w *Watcher) offerLocked(ch change) {
	if w.closed {
		return
	}
	w.lastRV = ch.rv
	ev, ok := w.translate(ch)
	if !ok {
		return
	}
	select {
	case w.ch <- ev:
	default:
		w.dropped = true
		w.c.opts.Logger.Warn("watcher fell behind; closing it", "resource", w.c.store.kind.Resource)
		delete(w.c.watchers, w.id)
		w.closeLocked()
	}
}

// bookmarkLocked sends a bookmark at rev if the watcher asked for them and the
// revision moved since the last event it was offered.
func (w *Watcher) bookmarkLocked(rev int64) {
	if w.closed || !w.opts.Bookmarks {
		return
	}
	select {
	case w.ch <- Event{Type: watch.Bookmark, RV: rev}:
		w.lastRV = rev
	default:
	}
}

func (w *Watcher) closeLocked() {
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}

// forward delivers the initial events, then live ones, until the watch ends.
func (w *Watcher) forward() {
	defer close(w.out)
	for _, ev := range w.initial {
		select {
		case w.out <- ev:
		case <-w.done:
			return
		}
	}
	w.initial = nil
	for {
		select {
		case ev, ok := <-w.ch:
			if !ok {
				return
			}
			select {
			case w.out <- ev:
			case <-w.done:
				return
			}
		case <-w.done:
			return
		}
	}
}

// Events returns the watch's events; the channel closes when the watch ends.
func (w *Watcher) Events() <-chan Event { return w.out }

// Stop ends the watch.
func (w *Watcher) Stop() {
	w.stop.Do(func() {
		close(w.done)
		w.c.mu.Lock()
		delete(w.c.watchers, w.id)
		w.closeLocked()
		w.c.mu.Unlock()
	})
}

// setRV sets an object's resourceVersion.
func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}
