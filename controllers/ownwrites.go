package controllers

import (
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ownWritesTimeout is how long a controller waits for its informer to show one of
// its own writes before it stops waiting (a write another client undid at once is
// never seen as written).
const ownWritesTimeout = 30 * time.Second

// ownWrites remembers, per owner key, the objects a controller has just written
// (their resourceVersion) or deleted, until its informer cache shows those writes.
// A sync that reads a cache older than the controller's own last write would undo
// it or do it twice: the Job controller would recount pods whose finalizer it has
// removed, the EndpointSlice controller would create a second slice for the same
// endpoints. So a sync first asks caughtUp and, when not, waits for the informer.
//
// ResourceVersions are compared as numbers, which holds for this API server (they
// are etcd revisions); a version that is not a number is taken as caught up.
type ownWrites struct {
	mu  sync.Mutex // guards m
	m   map[string]map[string]ownWrite
	now func() time.Time
}

// ownWrite is one object written (rv) or deleted by the controller.
type ownWrite struct {
	rv      uint64
	deleted bool
	at      time.Time
}

func newOwnWrites() *ownWrites {
	return &ownWrites{m: map[string]map[string]ownWrite{}, now: time.Now}
}

// wrote records that obj, belonging to owner, was created or updated.
func (w *ownWrites) wrote(owner string, obj metav1.Object) {
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	w.set(owner, obj.GetName(), ownWrite{rv: rv, at: w.now()})
}

// deleted records that the object called name, belonging to owner, was deleted.
func (w *ownWrites) deleted(owner, name string) {
	w.set(owner, name, ownWrite{deleted: true, at: w.now()})
}

func (w *ownWrites) set(owner, name string, x ownWrite) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m[owner] == nil {
		w.m[owner] = map[string]ownWrite{}
	}
	w.m[owner][name] = x
}

// observedDelete is called by an informer's delete handler: a write of that object
// can no longer be waited for.
func (w *ownWrites) observedDelete(owner, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := w.m[owner]; m != nil {
		delete(m, name)
		if len(m) == 0 {
			delete(w.m, owner)
		}
	}
}

// caughtUp says whether the cache, read through get, shows every write recorded for
// owner; the writes it shows (and those waited for too long) are forgotten.
func (w *ownWrites) caughtUp(owner string, get func(name string) (metav1.Object, bool)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.m[owner]
	now := w.now()
	for name, x := range m {
		obj, exists := get(name)
		seen := false
		switch {
		case now.Sub(x.at) > ownWritesTimeout:
			seen = true
		case x.deleted:
			seen = !exists
		case exists:
			rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
			seen = err != nil || rv >= x.rv
		}
		if seen {
			delete(m, name)
		}
	}
	if len(m) == 0 {
		delete(w.m, owner)
		return true
	}
	return false
}

// forget drops everything recorded for owner (it is gone).
func (w *ownWrites) forget(owner string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, owner)
}
