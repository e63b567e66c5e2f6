package leader

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LeaseNamespace and LeaseName name the Lease that shows the leader.
const (
	LeaseNamespace = metav1.NamespaceSystem
	LeaseName      = "berth-leader"
	// EndpointAnnotation on the Lease holds the leader's Options.Endpoint.
	EndpointAnnotation = "berth.dev/leader-endpoint"
)

// keepLease writes the Lease naming this candidate now and every half TTL
// until ctx ends. The Lease only shows who leads; the etcd election decides.
func (e *Elector) keepLease(ctx context.Context) {
	every := e.opts.TTL / 2
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.writeLease(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("write leader lease", "lease", LeaseNamespace+"/"+LeaseName, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeLease creates or updates the Lease so that it names this candidate,
// counting a change of holder as a transition.
func (e *Elector) writeLease(ctx context.Context) error {
	leases := e.opts.Kube.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	id, secs := e.opts.Identity, int32(e.ttl)
	l, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		var zero int32
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: LeaseName, Namespace: LeaseNamespace,
				Annotations: map[string]string{EndpointAnnotation: e.opts.Endpoint}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: &id, LeaseDurationSeconds: &secs,
				AcquireTime: &now, RenewTime: &now, LeaseTransitions: &zero,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
		var n int32
		if l.Spec.LeaseTransitions != nil {
			n = *l.Spec.LeaseTransitions + 1
		}
		l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.LeaseTransitions = &id, &now, &n
	}
	l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &secs, &now
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[EndpointAnnotation] = e.opts.Endpoint
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}
