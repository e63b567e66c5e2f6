package sync

import (
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ownWrites tells the controller's own writes from other writers' in the watch of
// managed objects, so that applying a revision does not schedule another sync of it.
// Events that arrive while a source applies are held until the apply's results say
// which of them it caused.
type ownWrites struct {
	mu       gosync.Mutex               // guards the fields below
	applying map[string]bool            // source key -> an apply is under way
	pending  map[string][]string        // source key -> events seen during the apply
	written  map[string]map[string]bool // source key -> events the last apply caused
}

func newOwnWrites() *ownWrites {
	return &ownWrites{applying: map[string]bool{}, pending: map[string][]string{}, written: map[string]map[string]bool{}}
}

// eventKey names one state of an object: its identity and resourceVersion.
func eventKey(u *unstructured.Unstructured) string {
	return IDOf(u).String() + "@" + u.GetResourceVersion()
}

// begin marks the start of an apply of source.
func (o *ownWrites) begin(source string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.applying[source] = true
	o.written[source] = map[string]bool{}
}

// end records the states an apply wrote and deleted and says whether an event held
// during it came from another writer (then the source must sync again).
func (o *ownWrites) end(source string, results []Result) (foreign bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := o.written[source]
	for _, r := range results {
		switch {
		case r.Err != nil:
		case r.Obj != nil:
			w[eventKey(r.Obj)] = true
		case r.Action.Type == Delete && r.Action.Live != nil:
			w[eventKey(r.Action.Live)] = true
		}
	}
	for _, k := range o.pending[source] {
		if w[k] {
			delete(w, k)
		} else {
			foreign = true
		}
	}
	delete(o.pending, source)
	delete(o.applying, source)
	return foreign
}

// seen reports a change of an object of source; it says whether the change should
// schedule a sync now (false: it was our own write, or an apply is under way).
func (o *ownWrites) seen(source string, u *unstructured.Unstructured) bool {
	k := eventKey(u)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.applying[source] {
		o.pending[source] = append(o.pending[source], k)
		return false
	}
	if o.written[source][k] {
		delete(o.written[source], k)
		return false
	}
	return true
}
