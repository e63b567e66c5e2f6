package storage

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
)

// Store reads and writes the objects of one kind in etcd.
type Store struct {
	kind   *registry.Kind
	client *clientv3.Client
	prefix string
	cacher *Cacher
}

// NewStore returns the store of kind k. Its Cacher must be Run before lists and watches.
func NewStore(client *clientv3.Client, k *registry.Kind, copts CacherOptions) *Store {
	s := &Store{kind: k, client: client, prefix: ResourcePrefix(k)}
	s.cacher = newCacher(s, copts)
	return s
}

// Kind returns the kind stored.
func (s *Store) Kind() *registry.Kind { return s.kind }

// Cacher returns the store's watch cache.
func (s *Store) Cacher() *Cacher { return s.cacher }

// Key returns the etcd key of an object.
func (s *Store) Key(ns, name string) string {
	if s.kind.Namespaced {
		return s.prefix + ns + "/" + name
	}
	return s.prefix + name
}

// Txn holds extra comparisons and operations to commit atomically with an object write,
// such as allocation keys that must not exist yet.
type Txn struct {
	Cmps []clientv3.Cmp
	Ops  []clientv3.Op
	// Lease, when set, attaches the object's key to an etcd lease: it expires with it.
	Lease clientv3.LeaseID
}

// put returns the put of an object's value, with the transaction's lease if any.
func (t Txn) put(key string, data []byte) clientv3.Op {
	if t.Lease != 0 {
		return clientv3.OpPut(key, string(data), clientv3.WithLease(t.Lease))
	}
	return clientv3.OpPut(key, string(data))
}

// ErrTxnConflict is returned by Create when one of the extra comparisons failed
// (an allocation was taken concurrently); the caller allocates again.
var ErrTxnConflict = errors.New("concurrent allocation conflict")

// Get reads an object from etcd.
func (s *Store) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	resp, err := s.client.Get(ctx, s.Key(ns, name))
	if err != nil {
		return nil, storageError(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, apierrors.NewNotFound(s.kind.GroupResource(), name)
	}
	kv := resp.Kvs[0]
	return Decode(s.kind, kv.Value, kv.ModRevision)
}

// Create writes a new object; it fails with AlreadyExists if the key exists.
// It returns obj itself, with its resourceVersion set.
func (s *Store) Create(ctx context.Context, ns, name string, obj runtime.Object, extra Txn) (runtime.Object, error) {
	data, err := Encode(s.kind, obj)
	if err != nil {
		return nil, err
	}
	key := s.Key(ns, name)
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", 0)}, extra.Cmps...)
	ops := append([]clientv3.Op{extra.put(key, data)}, extra.Ops...)
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key, clientv3.WithCountOnly())).Commit()
	if err != nil {
		return nil, storageError(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count > 0 {
			return nil, apierrors.NewAlreadyExists(s.kind.GroupResource(), name)
		}
		return nil, ErrTxnConflict
	}
	return obj, setRV(obj, resp.Header.Revision)
}

// Outcome is what an UpdateFunc decides: write Obj, delete the object, or leave it.
type Outcome struct {
	// Obj is the new object to store (nil with Delete or NoOp).
	Obj runtime.Object
	// Delete removes the object instead.
	Delete bool
	// NoOp leaves the stored object as it is and returns it.
	NoOp bool
	// Extra commits with the write.
	Extra Txn
}

// UpdateFunc computes the next state of an object from its current one (which it may
// modify: it is a private copy). Returning an error aborts the update with that error.
type UpdateFunc func(cur runtime.Object) (Outcome, error)

// Update reads the object, calls fn and writes the outcome in a transaction that
// compares the revision read; on a concurrent change it reads again and calls fn again.
// It returns the object as stored (for a delete, the last state, with the delete's revision).
//
// The first read comes from the watch cache when it holds the object, which saves an
// etcd round trip per update: a stale copy only fails the comparison, and an error fn
// returns on a cached copy, or a no-op it decides on one, is checked once more
// against etcd before it is returned.
func (s *Store) Update(ctx context.Context, ns, name string, fn UpdateFunc) (runtime.Object, error) {
	key := s.Key(ns, name)
	var cur current
	if e, ok := s.cachedEntry(key); ok {
		cur = current{obj: e.Obj, rev: e.RV, cached: true}
	} else if err := cur.read(ctx, s, key); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if !cur.exists() {
			return nil, apierrors.NewNotFound(s.kind.GroupResource(), name)
		}
		obj, err := cur.decode(s.kind)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out, err := fn(obj)
		if (err != nil || out.NoOp) && cur.cached {
			// The cache may be behind what the caller saw (a stale update can look
			// like a no-op, or a fresh one like a conflict): decide on etcd's copy.
			if err := cur.read(ctx, s, key); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if out.NoOp {
			return cur.decode(s.kind)
		}
		// fn may have changed obj while computing out; a delete returns its stored state.
		if out.Delete {
			if obj, err = cur.decode(s.kind); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
		}
		cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)}, out.Extra.Cmps...)
		var op clientv3.Op
		var data []byte
		if out.Delete {
			op = clientv3.OpDelete(key)
		} else {
			if data, err = Encode(s.kind, out.Obj); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			op = out.Extra.put(key, data)
		}
		ops := append([]clientv3.Op{op}, out.Extra.Ops...)
		tresp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			return nil, storageError(err)
		}
		if tresp.Succeeded {
			if out.Delete {
				return obj, setRV(obj, tresp.Header.Revision)
			}
			return out.Obj, setRV(out.Obj, tresp.Header.Revision)
		}
		if attempt > 100 {
			return nil, apierrors.NewConflict(s.kind.GroupResource(), name, fmt.Errorf("too many concurrent updates"))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Retry against what is there now.
		cur.set((*clientv3.GetResponse)(tresp.Responses[0].GetResponseRange()))
	}
}

// current is the state an update starts from: a cached object, or etcd's value.
type current struct {
	obj    runtime.Object // from the watch cache (shared: never modified)
	value  []byte         // from etcd
	rev    int64          // mod revision; 0 when the key does not exist
	cached bool
}

// read takes the state from etcd.
func (c *current) read(ctx context.Context, s *Store, key string) error {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return storageError(err)
	}
	c.set(resp)
	return nil
}

// set takes the state from an etcd response.
func (c *current) set(resp *clientv3.GetResponse) {
	*c = current{}
	if len(resp.Kvs) > 0 {
		c.value, c.rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
	}
}

func (c *current) exists() bool { return c.rev != 0 }

// decode returns a private copy of the state.
func (c *current) decode(k *registry.Kind) (runtime.Object, error) {
	if c.cached {
		return c.obj.DeepCopyObject(), nil
	}
	return Decode(k, c.value, c.rev)
}

// cachedEntry returns the watch cache's entry of key, when the cache is running.
func (s *Store) cachedEntry(key string) (*Entry, bool) {
	if s.cacher == nil {
		return nil, false
	}
	return s.cacher.Get(key)
}

func storageError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apierrors.NewTimeoutError(fmt.Sprintf("etcd: %v", err), 1)
	}
	return apierrors.NewInternalError(fmt.Errorf("etcd: %w", err))
}
