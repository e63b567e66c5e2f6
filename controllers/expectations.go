package controllers

import (
	"sync"
	"time"
)

// expectationsTimeout is how long unobserved creations or deletions are waited
// for before a controller resyncs anyway (kube-controller-manager uses 5 minutes).
const expectationsTimeout = 5 * time.Minute

// expectations remembers, per owner key, the pod creations and deletions a
// controller has asked for but not yet seen in its informer. Until they are seen
// the controller does not act on the owner again, so a lagging cache never makes
// it create (or delete) twice.
type expectations struct {
	mu  sync.Mutex // guards m
	m   map[string]*expected
	now func() time.Time
}

type expected struct {
	adds, dels int
	uids       map[string]bool // UIDs of pods being deleted, so each is counted once
	at         time.Time
}

func newExpectations() *expectations {
	return &expectations{m: map[string]*expected{}, now: time.Now}
}

// expect records that adds pods are about to be created and the pods with these
// UIDs deleted for key.
func (e *expectations) expect(key string, adds int, delUIDs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{adds: adds, dels: len(delUIDs), uids: map[string]bool{}, at: e.now()}
	for _, uid := range delUIDs {
		x.uids[uid] = true
	}
	e.m[key] = x
}

// created observes a creation (or a creation that failed and will not be seen).
func (e *expectations) created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		x.adds--
	}
}

// deleted observes the deletion of the pod with this UID (or a failed delete).
func (e *expectations) deleted(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil && x.uids[uid] {
		delete(x.uids, uid)
		x.dels--
	}
}

// satisfied says whether every expected creation and deletion was observed (or
// the wait timed out), so the controller may act on key again.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.m[key]
	return x == nil || (x.adds <= 0 && x.dels <= 0) || e.now().Sub(x.at) > expectationsTimeout
}

// forget drops key's expectations (its owner is gone).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
