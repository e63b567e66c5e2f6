package apiserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-dev/berth/apiserver/registry"
)

// eventTTL is how long an Event lives after its last write, as kube-apiserver's
// --event-ttl default.
const eventTTL = time.Hour

// leaseReuse is how long one etcd lease is shared by the writes that need a TTL, so
// that a burst of events costs one lease, as kube-apiserver's lease manager does.
const leaseReuse = time.Minute

// leases hands out etcd leases for objects that expire (Events).
type leases struct {
	client *clientv3.Client

	mu      sync.Mutex // guards the fields below
	id      clientv3.LeaseID
	expires time.Time // when id stops being handed out
}

// forKind returns the lease to attach to a write of kind k (0 for kinds that do not expire).
func (l *leases) forKind(ctx context.Context, k *registry.Kind) (clientv3.LeaseID, error) {
	if k.Resource != "events" || k.GroupVersion.Group != "" {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.id != 0 && now.Before(l.expires) {
		return l.id, nil
	}
	resp, err := l.client.Grant(ctx, int64((eventTTL + leaseReuse).Seconds()))
	if err != nil {
		return 0, apierrors.NewInternalError(fmt.Errorf("grant event lease: %w", err))
	}
	l.id, l.expires = resp.ID, now.Add(leaseReuse)
	return l.id, nil
}
