package volumes

import (
	"fmt"
	"io/fs"

	"github.com/berth-dev/berth/kubelet/env"
	corev1 "k8s.io/api/core/v1"
)

// setupDownwardAPI writes a downwardAPI volume: one file per item holding
// a field of the pod (metadata.name, namespace, uid, labels, annotations)
// or a container's resource. Rerunning Setup refreshes it, so label and
// annotation changes reach running containers.
func (m *Manager) setupDownwardAPI(pod *corev1.Pod, src *corev1.DownwardAPIVolumeSource, path string) error {
	payload := map[string]file{}
	if err := m.downwardPayload(pod, src.Items, src.DefaultMode, payload); err != nil {
		return err
	}
	return writeAtomic(path, payload)
}

func (m *Manager) downwardPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, volMode *int32, payload map[string]file) error {
	mode := fs.FileMode(defaultMode)
	if volMode != nil {
		mode = fs.FileMode(*volMode) & fs.ModePerm
	}
	for _, it := range items {
		var value string
		var err error
		switch {
		case it.FieldRef != nil:
			value, err = env.FieldValue(pod, it.FieldRef.FieldPath, env.Inputs{})
		case it.ResourceFieldRef != nil:
			value, err = env.ResourceValue(pod, nil, it.ResourceFieldRef, m.NodeAllocatable)
		default:
			err = fmt.Errorf("downwardAPI file %q has neither fieldRef nor resourceFieldRef", it.Path)
		}
		if err != nil {
			return fmt.Errorf("downwardAPI file %q: %w", it.Path, err)
		}
		fm := mode
		if it.Mode != nil {
			fm = fs.FileMode(*it.Mode) & fs.ModePerm
		}
		payload[it.Path] = file{data: []byte(value), mode: fm}
	}
	return nil
}

// setupProjected writes a projected volume: the files of its configMap,
// secret and downwardAPI sources in one directory. serviceAccountToken,
// clusterTrustBundle and podCertificate sources are not supported.
func (m *Manager) setupProjected(pod *corev1.Pod, src *corev1.ProjectedVolumeSource, path string) error {
	payload := map[string]file{}
	for i, s := range src.Sources {
		var part map[string]file
		var err error
		switch {
		case s.ConfigMap != nil:
			part, err = m.configMapPayload(pod, s.ConfigMap.Name, s.ConfigMap.Items, src.DefaultMode, s.ConfigMap.Optional)
		case s.Secret != nil:
			part, err = m.secretPayload(pod, s.Secret.Name, s.Secret.Items, src.DefaultMode, s.Secret.Optional)
		case s.DownwardAPI != nil:
			part = map[string]file{}
			err = m.downwardPayload(pod, s.DownwardAPI.Items, src.DefaultMode, part)
		case s.ServiceAccountToken != nil:
			err = fmt.Errorf("projected source %d: serviceAccountToken is not supported by berth", i)
		default:
			err = fmt.Errorf("projected source %d: source type not supported by berth (configMap, secret, downwardAPI are)", i)
		}
		if err != nil {
			return err
		}
		for p, f := range part {
			payload[p] = f
		}
	}
	return writeAtomic(path, payload)
}
