package storage

import (
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/apiserver/registry"
)

// Entry is one object as the cache holds it: decoded, encoded and indexed.
// Entries are shared between lists and watchers: never modify one.
type Entry struct {
	Key       string
	Namespace string
	Name      string
	// Obj has its resourceVersion set; Raw is Obj as JSON.
	Obj    runtime.Object
	Raw    []byte
	RV     int64
	Labels labels.Set
	Fields fields.Set

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

// protoMarshaler is implemented by the generated k8s.io/api types.
type protoMarshaler interface {
	Marshal() ([]byte, error)
}

// Proto returns the object as a protobuf message (without the Kubernetes envelope),
// encoded on first use and kept; ok is false for kinds without protobuf (GitSource).
func (e *Entry) Proto() (b []byte, ok bool, err error) {
	m, ok := e.Obj.(protoMarshaler)
	if !ok {
		return nil, false, nil
	}
	e.protoOnce.Do(func() { e.proto, e.protoErr = m.Marshal() })
	return e.proto, true, e.protoErr
}

// newEntry decodes a stored value at revision rev into an Entry.
func newEntry(k *registry.Kind, prefix, key string, value []byte, rev int64) (*Entry, error) {
	obj, err := Decode(k, value, rev)
	if err != nil {
		return nil, err
	}
	return entryFor(k, prefix, key, obj, rev)
}

// entryFor builds the Entry of a decoded object whose resourceVersion is rev.
func entryFor(k *registry.Kind, prefix, key string, obj runtime.Object, rev int64) (*Entry, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	ns, name := splitKey(prefix, key)
	return &Entry{
		Key: key, Namespace: ns, Name: name, Obj: obj, Raw: raw, RV: rev,
		Labels: labels.Set(m.GetLabels()),
		Fields: k.ObjectFields(obj, name, ns),
	}, nil
}

// Predicate selects entries by label and field selectors; nil selectors match all.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
}

// Empty says the predicate matches everything.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Matches says whether e is selected.
func (p Predicate) Matches(e *Entry) bool {
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(e.Labels) {
		return false
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(e.Fields) {
		return false
	}
	return true
}

// Event is a change delivered to a watcher. Bookmarks have no Entry.
type Event struct {
	Type  watch.EventType
	Entry *Entry
	// RV is the revision of the change (for bookmarks, the revision reached).
	RV int64
	// InitialEventsEnd marks the bookmark that ends the initial events of a
	// sendInitialEvents watch.
	InitialEventsEnd bool
}

// change is one etcd event as the cacher recorded it.
type change struct {
	typ  watch.EventType
	cur  *Entry // the object after the change; for a delete, its last state at the delete's revision
	prev *Entry // the object before the change (nil for adds)
	rv   int64
}
