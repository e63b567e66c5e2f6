package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// daemonPlan is what one sync of a DaemonSet does: pods to create (one per node
// named) and pods to delete.
type daemonPlan struct {
	create []string
	delete []*corev1.Pod
}

func (p daemonPlan) empty() bool { return len(p.create) == 0 && len(p.delete) == 0 }

// planNodes decides, node by node, as kube-controller-manager's manage step: a
// node that should run the DaemonSet and has no pod of it gets one; on a node
// where its pod may stay, failed and succeeded pods go (failed ones with a
// backoff per node) and extra pods go, the oldest staying (with maxSurge, an old
// and a new pod may share a node until the new one is available); a node where
// it may not stay loses its pods, and so does a node that no longer exists.
func (c *daemonSetController) planNodes(key string, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) daemonPlan {
	var plan daemonPlan
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
		run, keep := daemonShouldRun(n, ds)
		pods := byNode[n.Name]
		switch {
		case run && len(pods) == 0:
			plan.create = append(plan.create, n.Name)
		case keep:
			var running []*corev1.Pod
			for _, p := range pods {
				if p.DeletionTimestamp != nil {
					continue
				}
				switch p.Status.Phase {
				case corev1.PodFailed:
					id := key + "/" + n.Name
					if c.failed.IsInBackOffSinceUpdate(id, now) {
						c.queue.addAfter(key, c.failed.Get(id))
						continue
					}
					c.failed.Next(id, now)
					c.rec.Eventf(ds, corev1.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, n.Name)
					plan.delete = append(plan.delete, p)
				case corev1.PodSucceeded:
					plan.delete = append(plan.delete, p) // a daemon does not finish: run it again
				default:
					running = append(running, p)
				}
			}
			plan.delete = append(plan.delete, daemonExtraPods(ds, running, hash, now)...)
		default:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					plan.delete = append(plan.delete, p)
				}
			}
		}
	}
	for name, pods := range byNode {
		if known[name] {
			continue
		}
		for _, p := range pods {
			if p.DeletionTimestamp == nil || p.Spec.NodeName != "" {
				plan.delete = append(plan.delete, p) // its node is gone
			}
		}
	}
	return plan
}

// daemonExtraPods picks, among the running pods of one node (oldest first), those
// beyond the one the node should run. With maxSurge, the oldest pod of the current
// template and the oldest of an older one may both stay, until the new one is
// available or the old one is not ready.
func daemonExtraPods(ds *appsv1.DaemonSet, running []*corev1.Pod, hash string, now time.Time) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	if daemonMaxSurge(ds, 1) == 0 {
		return running[1:]
	}
	var extra []*corev1.Pod
	var oldestNew, oldestOld *corev1.Pod
	for _, p := range running {
		switch {
		case daemonPodUpdated(p, hash) && oldestNew == nil:
			oldestNew = p
		case !daemonPodUpdated(p, hash) && oldestOld == nil:
			oldestOld = p
		default:
			extra = append(extra, p)
		}
	}
	if oldestNew != nil && oldestOld != nil &&
		(!podReady(oldestOld) || daemonPodAvailable(oldestNew, ds.Spec.MinReadySeconds, now)) {
		extra = append(extra, oldestOld)
	}
	return extra
}

// daemonRollingUpdate replaces pods of an older template, as
// kube-controller-manager's RollingUpdate does. Without maxSurge it deletes old
// pods (unavailable ones at once, available ones while fewer than maxUnavailable
// nodes are unavailable) and the next sync creates their replacements; with
// maxSurge it creates a new pod beside an old one (at once when the old one is
// unavailable, else on at most maxSurge nodes at a time) and deletes the old one
// once the new one is available.
func daemonRollingUpdate(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) daemonPlan {
	desired := 0
	for _, n := range nodes {
		if run, _ := daemonShouldRun(n, ds); run {
			desired++
		}
	}
	maxSurge := daemonMaxSurge(ds, desired)
	maxUnavailable := daemonMaxUnavailable(ds, desired)
	minReady := ds.Spec.MinReadySeconds
	var plan daemonPlan
	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*corev1.Pod
		for _, n := range nodes {
			pods, ok := byNode[n.Name]
			if !ok {
				// A node that should run the daemon and has no pod at all (its old
				// pod is gone, the new one not created yet) is unavailable too.
				if run, _ := daemonShouldRun(n, ds); run {
					unavailable++
				}
				continue
			}
			newPod, oldPod, ok := daemonPodsOnNode(pods, hash)
			switch {
			case !ok, oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				unavailable++ // the manage step sorts this node out first
			case newPod != nil:
				if !daemonPodAvailable(newPod, minReady, now) {
					unavailable++
				}
			case !daemonPodAvailable(oldPod, minReady, now):
				replace = append(replace, oldPod) // unavailable anyway
			default:
				candidates = append(candidates, oldPod)
			}
		}
		n := min(max(0, maxUnavailable-unavailable), len(candidates))
		plan.delete = append(replace, candidates[:n]...)
		return plan
	}
	surging := 0
	var candidates []string
	for _, n := range nodes {
		pods, ok := byNode[n.Name]
		if !ok {
			continue
		}
		newPod, oldPod, ok := daemonPodsOnNode(pods, hash)
		switch {
		case !ok:
			surging++ // the manage step sorts this node out first
		case oldPod == nil:
		case newPod == nil:
			if run, _ := daemonShouldRun(n, ds); !run {
				continue // the manage step decides about pods of nodes it should leave
			}
			if !daemonPodAvailable(oldPod, minReady, now) {
				plan.create = append(plan.create, n.Name)
			} else {
				candidates = append(candidates, n.Name)
			}
		case daemonPodAvailable(newPod, minReady, now):
			plan.delete = append(plan.delete, oldPod)
		default:
			surging++
		}
	}
	n := min(max(0, maxSurge-surging), len(candidates))
	plan.create = append(plan.create, candidates[:n]...)
	return plan
}

// daemonPodsOnNode finds the pod of the current template and the pod of an older
// one on a node (deleted pods left out); false if there are two of either.
func daemonPodsOnNode(pods []*corev1.Pod, hash string) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if daemonPodUpdated(p, hash) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// daemonPodUpdated says whether a pod runs the template of this hash.
func daemonPodUpdated(p *corev1.Pod, hash string) bool {
	return p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash
}

// daemonPodAvailable says whether a pod has been ready for minReadySeconds.
func daemonPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podCondition(p, corev1.PodReady)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	return minReadySeconds == 0 || !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// daemonMaxSurge is RollingUpdate's maxSurge scaled to desired nodes (rounded up).
func daemonMaxSurge(ds *appsv1.DaemonSet, desired int) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true)
	if err != nil {
		return 0
	}
	return n
}

// daemonMaxUnavailable is RollingUpdate's maxUnavailable scaled to desired nodes
// (rounded up); 1 when both it and maxSurge are 0.
func daemonMaxUnavailable(ds *appsv1.DaemonSet, desired int) int {
	n := 1
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		if err == nil {
			n = v
		}
	}
	if n == 0 && daemonMaxSurge(ds, desired) == 0 {
		n = 1
	}
	return n
}

// apply carries out a plan: pods created for nodes in slow-start batches, pods
// deleted, each observed through the expectations before the next plan.
func (c *daemonSetController) apply(ctx context.Context, key string, ds *appsv1.DaemonSet, plan daemonPlan, hash string) error {
	if plan.empty() {
		return nil
	}
	uids := make([]string, len(plan.delete))
	for i, p := range plan.delete {
		uids[i] = string(p.UID)
	}
	c.exp.expect(key, len(plan.create), uids...)
	var (
		mu   sync.Mutex
		errs []error
	)
	forEachParallel(len(plan.delete), func(i int) {
		if err := c.deleteDaemonPod(ctx, key, ds, plan.delete[i]); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	})
	_, attempted, err := createInBatches(len(plan.create), func(i int) error {
		pod := daemonPodFor(ds, plan.create[i], hash)
		if _, err := createPod(ctx, c.client, c.rec, ds, pod); err != nil {
			c.exp.created(key) // it will never be seen
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return err
		}
		return nil
	})
	for range len(plan.create) - attempted {
		c.exp.created(key) // skipped after a failed batch
	}
	return errors.Join(append(errs, err)...)
}

// deleteDaemonPod deletes a pod and records the event; a pod whose node is gone
// is deleted at once (no kubelet will finish a graceful deletion), and a pod
// already gone is not an error.
func (c *daemonSetController) deleteDaemonPod(ctx context.Context, key string, ds *appsv1.DaemonSet, p *corev1.Pod) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}
	if p.Spec.NodeName != "" {
		if _, err := c.nodes.Get(p.Spec.NodeName); apierrors.IsNotFound(err) {
			zero := int64(0)
			opts.GracePeriodSeconds = &zero
		}
	}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, opts)
	switch {
	case apierrors.IsNotFound(err):
		c.exp.deleted(key, string(p.UID))
		return nil
	case err != nil:
		c.exp.deleted(key, string(p.UID)) // it will never be seen
		c.rec.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s of daemonset %s: %w", p.Namespace, p.Name, ds.Name, err)
	}
	c.rec.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}
