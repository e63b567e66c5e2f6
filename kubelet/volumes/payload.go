package volumes

import (
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// defaultMode is the file mode of configMap and secret volume files when
// neither the item nor the volume sets one (Kubernetes' 0644 for both).
const defaultMode = 0o644

func (m *Manager) setupConfigMap(pod *corev1.Pod, src *corev1.ConfigMapVolumeSource, path string) error {
	payload, err := m.configMapPayload(pod, src.Name, src.Items, src.DefaultMode, src.Optional)
	if err != nil {
		return err
	}
	return writeAtomic(path, payload)
}

func (m *Manager) setupSecret(pod *corev1.Pod, src *corev1.SecretVolumeSource, path string) error {
	payload, err := m.secretPayload(pod, src.SecretName, src.Items, src.DefaultMode, src.Optional)
	if err != nil {
		return err
	}
	return writeAtomic(path, payload)
}

// configMapPayload is the files of a ConfigMap (or of its items); a missing
// optional ConfigMap gives none.
func (m *Manager) configMapPayload(pod *corev1.Pod, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]file, error) {
	optional := opt != nil && *opt
	var cm *corev1.ConfigMap
	var err error
	if m.get.ConfigMap != nil {
		cm, err = m.get.ConfigMap(pod.Namespace, name)
	}
	switch {
	case (err == nil && cm == nil) || apierrors.IsNotFound(err):
		if !optional {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
		}
		cm = &corev1.ConfigMap{}
	case err != nil:
		return nil, fmt.Errorf("get configmap %s/%s: %w", pod.Namespace, name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return makePayload(data, items, mode, optional, "configmap references non-existent config key: %s")
}

// secretPayload is configMapPayload for Secrets.
func (m *Manager) secretPayload(pod *corev1.Pod, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]file, error) {
	optional := opt != nil && *opt
	var s *corev1.Secret
	var err error
	if m.get.Secret != nil {
		s, err = m.get.Secret(pod.Namespace, name)
	}
	switch {
	case (err == nil && s == nil) || apierrors.IsNotFound(err):
		if !optional {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
		}
		s = &corev1.Secret{}
	case err != nil:
		return nil, fmt.Errorf("get secret %s/%s: %w", pod.Namespace, name, err)
	}
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		data[k] = v
	}
	return makePayload(data, items, mode, optional, "references non-existent secret key: %s")
}

// makePayload is the kubelet's MakePayload: every key as a file of its own
// name, or only the items at their paths (a missing key is an error unless
// optional), with the item's mode, else the volume's default mode, else
// 0644.
func makePayload(data map[string][]byte, items []corev1.KeyToPath, volMode *int32, optional bool, missing string) (map[string]file, error) {
	mode := fs.FileMode(defaultMode)
	if volMode != nil {
		mode = fs.FileMode(*volMode) & fs.ModePerm
	}
	payload := make(map[string]file, len(data))
	if len(items) == 0 {
		for k, v := range data {
			payload[k] = file{data: v, mode: mode}
		}
		return payload, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf(missing, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = fs.FileMode(*it.Mode) & fs.ModePerm
		}
		payload[it.Path] = file{data: v, mode: m}
	}
	return payload, nil
}

// checkHostPath applies a hostPath volume's type, as the kubelet's
// checkTypeInternal: the *OrCreate types create what is missing (a
// directory 0755, an empty file 0644), the others require it to exist
// with that type.
func checkHostPath(path string, typ *corev1.HostPathType) error {
	t := corev1.HostPathUnset
	if typ != nil {
		t = *typ
	}
	info, statErr := os.Stat(path)
	exists := statErr == nil
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("create hostPath directory %s: %w", path, err)
			}
			return nil
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists || !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("create hostPath file %s: %w", path, err)
			}
			return f.Close()
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists || info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !exists || info.Mode()&fs.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !exists || info.Mode()&fs.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !exists || info.Mode()&fs.ModeDevice == 0 || info.Mode()&fs.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", t)
	}
	return nil
}
