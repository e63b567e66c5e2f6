package env

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// fieldValue is the value of a downward API field path, as the kubelet's
// podFieldSelectorRuntimeValue and fieldpath.ExtractFieldPathAsString.
func fieldValue(pod *corev1.Pod, path string, in Inputs) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		if pod.Spec.NodeName != "" {
			return pod.Spec.NodeName, nil
		}
		return in.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return in.HostIP, nil
	case "status.podIP":
		return in.PodIP, nil
	case "status.podIPs":
		if len(in.PodIPs) == 0 {
			return in.PodIP, nil
		}
		return strings.Join(in.PodIPs, ","), nil
	}
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

// subscript splits "prefix['key']" into key.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap renders a label or annotation map as the downward API does:
// sorted key="value" lines (values quoted Go-style).
func formatMap(m map[string]string) string {
	var lines []string
	for _, k := range sortedKeys(m) {
		lines = append(lines, k+"="+strconv.Quote(m[k]))
	}
	return strings.Join(lines, "\n")
}

// resourceValue is the value of a resourceFieldRef, as the kubelet's
// containerResourceRuntimeValue: limits not set come from the node's
// allocatable, requests not set fall back to the limits set, and the value
// is divided by the divisor (default 1) rounding up.
func resourceValue(pod *corev1.Pod, c *corev1.Container, fs *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	target := c
	if fs.ContainerName != "" {
		target = findContainer(pod, fs.ContainerName)
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef: container %s not found in pod %s/%s", fs.ContainerName, pod.Namespace, pod.Name)
		}
	}
	if target == nil {
		return "", fmt.Errorf("resourceFieldRef %s: containerName is required", fs.Resource)
	}
	divisor := fs.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, name, ok := strings.Cut(fs.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
	}
	rname := corev1.ResourceName(name)
	switch rname {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
	default:
		if !strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
			return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
		}
	}
	q, ok := target.Resources.Limits[rname]
	if !ok {
		q = allocatable[rname]
	}
	if kind == "requests" {
		if r, ok := target.Resources.Requests[rname]; ok {
			q = r
		} else if l, ok := target.Resources.Limits[rname]; ok {
			q = l
		} else {
			q = resource.Quantity{}
		}
	}
	if rname == corev1.ResourceCPU {
		d := divisor.MilliValue()
		if d == 0 {
			return "", fmt.Errorf("resourceFieldRef %s: divisor %s is too small", fs.Resource, divisor.String())
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(d))), 10), nil
	}
	d := divisor.Value()
	if d == 0 {
		return "", fmt.Errorf("resourceFieldRef %s: divisor %s is too small", fs.Resource, divisor.String())
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(d))), 10), nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// FieldValue is the value of a downward API field path of pod (as in
// valueFrom.fieldRef and downwardAPI volume files); the pod's addresses
// and node come from in.
func FieldValue(pod *corev1.Pod, path string, in Inputs) (string, error) {
	return fieldValue(pod, path, in)
}

// ResourceValue is the value of a resourceFieldRef for container c of pod
// (c may be nil when fs names a container), limits not set taken from
// allocatable.
func ResourceValue(pod *corev1.Pod, c *corev1.Container, fs *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	return resourceValue(pod, c, fs, allocatable)
}
