package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// defaultGrace is the grace period of a pod that gives none.
const defaultGrace = 30 * time.Second

// gracePeriod is how long the pod's containers get to stop: the deletion's
// grace period, else the spec's, else 30s.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod == nil:
		return 0
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGrace
}

// terminate stops the containers of the pod with uid (running the preStop
// exec hooks of pod's containers, when pod is given) within the grace
// period, removes them, tears the sandbox down and finally deletes pod
// from the API with grace 0 and a UID precondition. With pod nil (the pod
// is gone from the API) the containers are killed at once.
func (k *Kubelet) terminate(ctx context.Context, pod *corev1.Pod, uid, namespace, name string) error {
	statuses, err := k.podContainers(ctx, uid)
	if err != nil {
		return fmt.Errorf("terminate pod %s/%s: %w", namespace, name, err)
	}
	grace := gracePeriod(pod)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := k.stopAndRemove(ctx, pod, s, grace)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate pod %s/%s: %w", namespace, name, err)
	}
	if err := k.removeSandbox(ctx, uid, namespace, name); err != nil {
		return fmt.Errorf("terminate pod %s/%s: %w", namespace, name, err)
	}
	if pod == nil {
		return nil
	}
	zero := int64(0)
	podUID := types.UID(uid)
	err = k.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &podUID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// stopAndRemove runs the container's preStop exec hook (if it runs and pod
// has one), stops it within grace and removes it.
func (k *Kubelet) stopAndRemove(ctx context.Context, pod *corev1.Pod, s runtime.ContainerStatus, grace time.Duration) error {
	if s.State == runtime.StateRunning {
		start := k.now()
		if hook := preStopExec(pod, s.Labels[runtime.LabelContainerName]); hook != nil && grace > 0 {
			if _, out, err := k.rt.Exec(ctx, s.ID, hook.Command, grace); err != nil {
				k.log.Warn("preStop hook", "container", s.ID, "err", err, "output", string(out))
			}
		}
		if pod != nil {
			k.events.Eventf(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", s.Labels[runtime.LabelContainerName])
		}
		left := max(grace-k.now().Sub(start), 0)
		if err := k.rt.StopContainer(ctx, s.ID, left); err != nil {
			return fmt.Errorf("stop container %s: %w", s.ID, err)
		}
	}
	if err := k.rt.RemoveContainer(ctx, s.ID); err != nil {
		return fmt.Errorf("remove container %s: %w", s.ID, err)
	}
	return nil
}

// preStopExec is the exec preStop hook of pod's container name, if any.
func preStopExec(pod *corev1.Pod, name string) *corev1.ExecAction {
	if pod == nil {
		return nil
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
			return c.Lifecycle.PreStop.Exec
		}
	}
	return nil
}

// collectGarbage removes the containers and sandboxes of pods that are no
// longer bound to the node (nor being handled by a worker).
func (k *Kubelet) collectGarbage(ctx context.Context) {
	pods, err := k.lister.List(labels.Everything())
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, p := range pods {
		keep[string(p.UID)] = true
	}
	orphans := map[string][2]string{} // uid → namespace, name
	infos, err := k.rt.ListContainers(ctx, nil)
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("garbage collection: list containers", "err", err)
		}
		return
	}
	for _, info := range infos {
		uid := info.Labels[runtime.LabelPodUID]
		if uid != "" {
			orphans[uid] = [2]string{info.Labels[runtime.LabelPodNamespace], info.Labels[runtime.LabelPodName]}
		}
	}
	if entries, err := os.ReadDir(k.nsDir); err == nil {
		for _, e := range entries {
			if _, ok := orphans[e.Name()]; !ok && e.IsDir() {
				orphans[e.Name()] = [2]string{}
			}
		}
	}
	for uid, nn := range orphans {
		if keep[uid] || k.workers.known(types.UID(uid)) {
			continue
		}
		k.log.Info("removing the containers and sandbox of a pod no longer on the node", "uid", uid, "pod", nn[0]+"/"+nn[1])
		if err := k.terminate(ctx, nil, uid, nn[0], nn[1]); err != nil && ctx.Err() == nil {
			k.log.Warn("garbage collection", "uid", uid, "err", err)
		}
	}
}
