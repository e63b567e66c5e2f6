package env

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Inputs are what Resolve needs besides the pod and container.
type Inputs struct {
	// PodIP and PodIPs are the pod's addresses (status.podIP, status.podIPs).
	PodIP  string
	PodIPs []string
	// HostIP and NodeName describe the node (status.hostIP, spec.nodeName
	// when the pod's own is empty).
	HostIP, NodeName string
	// ConfigMap and Secret fetch objects; a NotFound error or a nil object
	// means the object does not exist. Nil functions find nothing.
	ConfigMap func(ns, name string) (*corev1.ConfigMap, error)
	Secret    func(ns, name string) (*corev1.Secret, error)
	// ServiceEnv are the service link variables ("NAME=value"), used for
	// expansion and added when not defined by the container.
	ServiceEnv []string
	// NodeAllocatable fills the limits a container does not set for
	// resourceFieldRef, as the kubelet does; nil leaves them zero.
	NodeAllocatable corev1.ResourceList
}

// Resolve returns the environment of container c of pod as "NAME=value"
// strings in the order the names were first defined, or an error worded
// as the kubelet's CreateContainerConfigError message.
func Resolve(pod *corev1.Pod, c *corev1.Container, in Inputs) ([]string, error) {
	vars := &orderedEnv{values: map[string]string{}}
	for _, from := range c.EnvFrom {
		if err := resolveEnvFrom(pod, from, in, vars); err != nil {
			return nil, err
		}
	}
	service := map[string]string{}
	var serviceOrder []string
	for _, kv := range in.ServiceEnv {
		k, v := splitKV(kv)
		if _, ok := service[k]; !ok {
			serviceOrder = append(serviceOrder, k)
		}
		service[k] = v
	}
	mapping := lookupIn(vars.values, service)
	for _, ev := range c.Env {
		var value string
		switch {
		case ev.Value != "":
			value = expand(ev.Value, mapping)
		case ev.ValueFrom != nil:
			v, skip, err := resolveValueFrom(pod, c, ev.ValueFrom, in)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
			value = v
		}
		vars.set(ev.Name, value)
	}
	for _, k := range serviceOrder {
		if _, ok := vars.values[k]; !ok {
			vars.set(k, service[k])
		}
	}
	return vars.list(), nil
}

// resolveEnvFrom adds the keys of one envFrom source to vars. Keys that are
// not valid variable names (after the prefix) are skipped, as the kubelet
// does (it only records an event).
func resolveEnvFrom(pod *corev1.Pod, from corev1.EnvFromSource, in Inputs, vars *orderedEnv) error {
	var data map[string]string
	switch {
	case from.ConfigMapRef != nil:
		ref := from.ConfigMapRef
		cm, err := getConfigMap(in, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
				return nil
			}
			return err
		}
		data = cm.Data
	case from.SecretRef != nil:
		ref := from.SecretRef
		s, err := getSecret(in, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
				return nil
			}
			return err
		}
		data = make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
	default:
		return nil
	}
	for _, k := range sortedKeys(data) {
		name := from.Prefix + k
		if len(validation.IsEnvVarName(name)) > 0 {
			continue
		}
		vars.set(name, data[k])
	}
	return nil
}

// resolveValueFrom returns the value of a valueFrom source; skip is true
// when an optional ConfigMap, Secret or key is missing.
func resolveValueFrom(pod *corev1.Pod, c *corev1.Container, src *corev1.EnvVarSource, in Inputs) (value string, skip bool, err error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath, in)
		return v, false, err
	case src.ResourceFieldRef != nil:
		v, err := resourceValue(pod, c, src.ResourceFieldRef, in.NodeAllocatable)
		return v, false, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		optional := isTrue(ref.Optional)
		cm, err := getConfigMap(in, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		optional := isTrue(ref.Optional)
		s, err := getSecret(in, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), false, nil
	}
	return "", false, nil
}

// getConfigMap fetches a ConfigMap, turning every kind of absence into the
// kubelet's NotFound error `configmap "name" not found`.
func getConfigMap(in Inputs, ns, name string) (*corev1.ConfigMap, error) {
	var cm *corev1.ConfigMap
	var err error
	if in.ConfigMap != nil {
		cm, err = in.ConfigMap(ns, name)
	}
	if (err == nil && cm == nil) || apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get configmap %s/%s: %w", ns, name, err)
	}
	return cm, nil
}

// getSecret is getConfigMap for Secrets: `secret "name" not found`.
func getSecret(in Inputs, ns, name string) (*corev1.Secret, error) {
	var s *corev1.Secret
	var err error
	if in.Secret != nil {
		s, err = in.Secret(ns, name)
	}
	if (err == nil && s == nil) || apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", ns, name, err)
	}
	return s, nil
}

func isTrue(b *bool) bool { return b != nil && *b }
