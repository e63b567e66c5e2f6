package sync

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Health of an object or a source.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
)

// Health judges a live object by its kind, as a person would read its status:
// workloads by rollout and availability, Jobs by completion, Pods by readiness,
// Services by having a ready endpoint (endpoints says whether one exists) and a
// LoadBalancer address. Other kinds are healthy when present.
func Health(u *unstructured.Unstructured, endpoints func(ns, svc string) bool) (string, string) {
	var err error
	switch u.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err == nil {
			return deploymentHealth(&d)
		}
	case "DaemonSet":
		var d appsv1.DaemonSet
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err == nil {
			return daemonSetHealth(&d)
		}
	case "Job":
		var j batchv1.Job
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &j); err == nil {
			return jobHealth(&j)
		}
	case "Pod":
		var p corev1.Pod
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err == nil {
			return podHealth(&p)
		}
	case "Service":
		var s corev1.Service
		if err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s); err == nil {
			return serviceHealth(&s, endpoints)
		}
	default:
		return Healthy, ""
	}
	return Degraded, fmt.Sprintf("unreadable status: %v", err)
}

func deploymentHealth(d *appsv1.Deployment) (string, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse {
			return Degraded, fmt.Sprintf("rollout stalled: %s", c.Message)
		}
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return Progressing, "waiting for the rollout to start"
	case s.UpdatedReplicas < want:
		return Progressing, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return Progressing, fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < want:
		return Progressing, fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, want)
	}
	return Healthy, fmt.Sprintf("%d/%d replicas available", s.AvailableReplicas, want)
}

func daemonSetHealth(d *appsv1.DaemonSet) (string, string) {
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return Progressing, "waiting for the rollout to start"
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		return Progressing, fmt.Sprintf("%d of %d pods updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.NumberAvailable < s.DesiredNumberScheduled:
		return Progressing, fmt.Sprintf("%d of %d pods available", s.NumberAvailable, s.DesiredNumberScheduled)
	}
	return Healthy, fmt.Sprintf("%d/%d pods available", s.NumberAvailable, s.DesiredNumberScheduled)
}

func jobHealth(j *batchv1.Job) (string, string) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return Healthy, "complete"
		case batchv1.JobFailed:
			return Degraded, fmt.Sprintf("failed: %s %s", c.Reason, c.Message)
		}
	}
	return Progressing, fmt.Sprintf("%d active, %d succeeded", j.Status.Active, j.Status.Succeeded)
}

func podHealth(p *corev1.Pod) (string, string) {
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return Healthy, "succeeded"
	case corev1.PodFailed:
		return Degraded, fmt.Sprintf("failed: %s", p.Status.Message)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "CrashLoopBackOff" || w.Reason == "ImagePullBackOff" || w.Reason == "ErrImagePull") {
			return Degraded, fmt.Sprintf("container %s: %s", cs.Name, w.Reason)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return Healthy, "ready"
		}
	}
	return Progressing, "not ready"
}

func serviceHealth(s *corev1.Service, endpoints func(ns, svc string) bool) (string, string) {
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
		return Progressing, "waiting for a load balancer address"
	}
	if len(s.Spec.Selector) > 0 && endpoints != nil && !endpoints(s.Namespace, s.Name) {
		return Progressing, "no ready endpoints"
	}
	return Healthy, ""
}

// worse returns the worse of two health values.
func worse(a, b string) string {
	rank := map[string]int{Healthy: 0, "": 0, Progressing: 1, Degraded: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
