package controllers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// replicaSetBurst caps the pods one sync creates or deletes, as
	// kube-controller-manager's --concurrent-replicaset-syncs burst of 500.
	replicaSetBurst = 500
	// podDeletionCostAnnotation ranks pods for scale-down: lower cost goes first.
	podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"
)

// manageReplicas creates or deletes pods so that rs has spec.replicas active pods.
// It records what it is about to do in the expectations first, so that the next
// sync waits until the informer has seen all of it.
func (c *replicaSetController) manageReplicas(ctx context.Context, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	key := rs.Namespace + "/" + rs.Name
	diff := len(pods) - int(replicaSetReplicas(rs))
	switch {
	case diff < 0:
		n := min(-diff, replicaSetBurst)
		c.exp.expect(key, n)
		ok, err := replicaSetSlowStart(n, func() error {
			pod := podFromTemplate(&rs.Spec.Template, rs.Namespace, rs.Name+"-", controllerRef(rs, replicaSetKind))
			_, err := createPod(ctx, c.client, c.rec, rs, pod)
			if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // nothing can be created in it any more: not an error to retry
			}
			return err
		})
		// Creations that failed or were not tried will never be observed.
		for range n - ok {
			c.exp.created(key)
		}
		return err
	case diff > 0:
		n := min(diff, replicaSetBurst)
		victims := podsToDelete(pods, c.relatedPods(rs), n, c.now())
		uids := make([]string, len(victims))
		for i, p := range victims {
			uids[i] = string(p.UID)
		}
		c.exp.expect(key, 0, uids...)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for _, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.deletePodOf(ctx, rs, p); err != nil {
					c.exp.deleted(key, string(p.UID)) // will never be observed
					if !apierrors.IsNotFound(err) {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// deletePodOf deletes one pod of rs (the pod's own grace period applies) and
// records the event; a pod already gone or replaced counts as NotFound.
func (c *replicaSetController) deletePodOf(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &p.UID},
	})
	switch {
	case err == nil:
		c.rec.Eventf(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return apierrors.NewNotFound(corev1.Resource("pods"), p.Name)
	default:
		c.rec.Eventf(rs, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s of %s: %w", p.Namespace, p.Name, rs.Name, err)
	}
}

// relatedPods are the active pods of rs and of the ReplicaSets sharing its
// controller (the other revisions of a Deployment): scale-down prefers pods on
// nodes where many of them run.
func (c *replicaSetController) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	owners := map[types.UID]bool{rs.UID: true}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if sets, err := c.sets.ReplicaSets(rs.Namespace).List(labels.Everything()); err == nil {
			for _, s := range sets {
				if r := metav1.GetControllerOfNoCopy(s); r != nil && r.UID == ref.UID {
					owners[s.UID] = true
				}
			}
		}
	}
	all, err := c.pods.Pods(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range all {
		if r := metav1.GetControllerOfNoCopy(p); r != nil && owners[r.UID] && podActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// replicaSetReplicas is spec.replicas (the API server defaults it to 1).
func replicaSetReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// replicaSetSlowStart calls fn count times in batches of 1, 2, 4, ..., each batch
// in parallel, and stops after the first batch with a failure, so that a
// ReplicaSet whose pods are all rejected (quota, admission) fails with one request
// rather than hundreds. It returns the number of calls that succeeded and the
// first error.
func replicaSetSlowStart(count int, fn func() error) (int, error) {
	successes := 0
	for batch, left := min(count, 1), count; batch > 0; batch = min(2*batch, left) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errCh <- err
				}
			}()
		}
		wg.Wait()
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		left -= batch
	}
	return successes, nil
}

// podsToDelete picks the n least useful of pods, in the order Kubernetes uses
// (podRank.less); related counts, per node, the pods of the same workload.
func podsToDelete(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	perNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			perNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]podRank, len(pods))
	for i, p := range pods {
		ranked[i] = podRank{pod: p, colocated: perNode[p.Spec.NodeName]}
		if p.Spec.NodeName == "" {
			ranked[i].colocated = 0
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].less(ranked[j], now) })
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

// podRank is a pod with the number of its workload's pods on the same node.
type podRank struct {
	pod       *corev1.Pod
	colocated int
}

// less says whether a should be deleted before b:
//  1. not yet scheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower controller.kubernetes.io/pod-deletion-cost first;
//  5. more pods of the workload on its node first (doubled-up pods);
//  6. ready for a shorter time first, in logarithmic buckets;
//  7. more container restarts first;
//  8. newer first, in logarithmic buckets of age, then newer exactly.
func (a podRank) less(b podRank, now time.Time) bool {
	pa, pb := a.pod, b.pod
	if (pa.Spec.NodeName == "") != (pb.Spec.NodeName == "") {
		return pa.Spec.NodeName == ""
	}
	if xa, xb := phaseRank(pa.Status.Phase), phaseRank(pb.Status.Phase); xa != xb {
		return xa < xb
	}
	ra, rb := podReady(pa), podReady(pb)
	if ra != rb {
		return !ra
	}
	if ca, cb := podDeletionCost(pa), podDeletionCost(pb); ca != cb {
		return ca < cb
	}
	if a.colocated != b.colocated {
		return a.colocated > b.colocated
	}
	if ra && rb {
		ta, tb := podReadySince(pa), podReadySince(pb)
		if ba, bb := ageBucket(ta, now), ageBucket(tb, now); ba != bb {
			return ba < bb
		}
	}
	if xa, xb := maxRestarts(pa), maxRestarts(pb); xa != xb {
		return xa > xb
	}
	ta, tb := pa.CreationTimestamp.Time, pb.CreationTimestamp.Time
	if ba, bb := ageBucket(ta, now), ageBucket(tb, now); ba != bb {
		return ba < bb
	}
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return pa.UID < pb.UID
}

// phaseRank orders phases for scale-down: Pending, Unknown, then Running.
func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0
}

// ageBucket is floor(log2(seconds since t)) + 1, and 0 for a zero or future time:
// younger is smaller. Pods of similar age land in one bucket, so that a
// scale-down does not always pick exactly the newest pods (Kubernetes'
// LogarithmicScaleDown).
func ageBucket(t, now time.Time) int {
	if t.IsZero() {
		return 0
	}
	s := now.Sub(t).Seconds()
	if s < 1 {
		return 0
	}
	return int(math.Floor(math.Log2(s))) + 1
}

// podReadySince is when the pod's Ready condition last turned True.
func podReadySince(p *corev1.Pod) time.Time {
	if c := podCondition(p, corev1.PodReady); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// podDeletionCost reads the pod-deletion-cost annotation (0 when absent or invalid).
func podDeletionCost(p *corev1.Pod) int32 {
	v, err := strconv.ParseInt(p.Annotations[podDeletionCostAnnotation], 10, 32)
	if err != nil {
		return 0
	}
	return int32(v)
}

// maxRestarts is the highest restart count among a pod's containers.
func maxRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}
