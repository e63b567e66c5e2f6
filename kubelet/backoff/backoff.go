package backoff

import (
	"sync"
	"time"
)

// Options are the durations of a Backoff; zero values take the kubelet's.
type Options struct {
	// Initial is the first wait (default 10s).
	Initial time.Duration
	// Max caps the doubling (default 5m).
	Max time.Duration
	// ResetAfter is how long a container must run for its backoff to be
	// forgotten (default 10m).
	ResetAfter time.Duration
}

// Backoff tracks the crash-loop backoff of containers by key (a container
// ID or pod-UID/container-name). It is safe for concurrent use.
type Backoff struct {
	opts Options

	mu      sync.Mutex // guards entries
	entries map[string]entry
}

type entry struct {
	wait  time.Duration // the wait last handed out
	until time.Time     // end of that wait
}

// New returns a Backoff with opts' zero fields filled with the kubelet's
// defaults.
func New(opts Options) *Backoff {
	if opts.Initial <= 0 {
		opts.Initial = 10 * time.Second
	}
	if opts.Max <= 0 {
		opts.Max = 5 * time.Minute
	}
	if opts.Max < opts.Initial {
		opts.Max = opts.Initial
	}
	if opts.ResetAfter <= 0 {
		opts.ResetAfter = 10 * time.Minute
	}
	return &Backoff{opts: opts, entries: map[string]entry{}}
}

// Next records a restart of key at now and returns how long to wait before
// it: Initial the first time, then doubling up to Max.
func (b *Backoff) Next(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	switch {
	case !ok || e.wait == 0:
		e.wait = b.opts.Initial
	default:
		e.wait *= 2
		if e.wait > b.opts.Max {
			e.wait = b.opts.Max
		}
	}
	e.until = now.Add(e.wait)
	b.entries[key] = e
	return e.wait
}

// InBackoff reports whether key is still waiting at now.
func (b *Backoff) InBackoff(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	return ok && now.Before(e.until)
}

// Remaining is how long key still waits at now (zero when not waiting).
func (b *Backoff) Remaining(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || !now.Before(e.until) {
		return 0
	}
	return e.until.Sub(now)
}

// RanFor tells the Backoff that key's last run lasted d; a run of at least
// ResetAfter forgets key's backoff.
func (b *Backoff) RanFor(key string, d time.Duration) {
	if d >= b.opts.ResetAfter {
		b.Reset(key)
	}
}

// Reset forgets key (a container that ran long enough, or was removed).
func (b *Backoff) Reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}
