package controllers

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// controllerRef is the ownerReference a controller puts on what it creates.
func controllerRef(owner metav1.Object, gvk schema.GroupVersionKind) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// podFromTemplate is the pod a controller creates from a template: its labels,
// annotations and spec, named "<prefix><random>", controlled by ref.
func podFromTemplate(tmpl *corev1.PodTemplateSpec, ns, prefix string, ref metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       ns,
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     maps.Clone(tmpl.Annotations),
			OwnerReferences: []metav1.OwnerReference{ref},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
}

// createPod creates a pod and records the event a user looks for; a failure is
// recorded as a FailedCreate warning on the owner.
// owner is the object the events are about (a ReplicaSet, Job or DaemonSet).
func createPod(ctx context.Context, client kubernetes.Interface, rec record.EventRecorder, owner ownerObject, pod *corev1.Pod) (*corev1.Pod, error) {
	created, err := client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			rec.Eventf(owner, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		}
		return nil, fmt.Errorf("create pod for %s/%s: %w", owner.GetNamespace(), owner.GetName(), err)
	}
	rec.Eventf(owner, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return created, nil
}

// ownerObject is an API object with metadata: what events are recorded about.
type ownerObject interface {
	metav1.Object
	runtime.Object
}

// podActive says whether a pod counts toward its owner's replicas: not finished
// and not being deleted.
func podActive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// podReady says whether a pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	c := podCondition(p, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// podCondition returns the pod's condition of a type, or nil.
func podCondition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// ownedBy says whether obj is controlled by the owner with this UID.
func ownedBy(obj metav1.Object, uid any) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && any(ref.UID) == uid
}
