package volumes

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestSetupDownwardAPIAndProjected(t *testing.T) {
	s := &store{
		cms:     map[string]*corev1.ConfigMap{"shop/cfg": {Data: map[string]string{"a": "1"}}},
		secrets: map[string]*corev1.Secret{"shop/creds": {Data: map[string][]byte{"user": []byte("admin")}}},
	}
	field := func(path, fp string) corev1.DownwardAPIVolumeFile {
		return corev1.DownwardAPIVolumeFile{Path: path, FieldRef: &corev1.ObjectFieldSelector{FieldPath: fp}}
	}
	tests := []struct {
		name    string
		src     corev1.VolumeSource
		want    []string
		wantErr string
	}{
		{"downwardAPI", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			field("name", "metadata.name"), field("labels", "metadata.labels"), field("app", "metadata.labels['app']"),
			{Path: "mem", Mode: ptr[int32](0o400), ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: "main", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		}}}, []string{"app -rw-r--r-- web", "labels -rw-r--r-- app=\"web\"\ntier=\"front\"", "mem -r-------- 64", "name -rw-r--r-- web"}, ""},
		{"downwardAPI bad field", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			field("ip", "status.nope")}}}, nil, `downwardAPI file "ip": unsupported fieldPath: status.nope`},
		{"projected", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr[int32](0o440), Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"},
				Items: []corev1.KeyToPath{{Key: "user", Path: "secret/user"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{field("ns", "metadata.namespace")}}},
		}}}, []string{"a -r--r----- 1", "ns -r--r----- shop", "secret/user -r--r----- admin"}, ""},
		{"projected token", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}},
			nil, "serviceAccountToken is not supported by berth"},
		{"projected missing configMap", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}}}},
			nil, `configmap "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(t.TempDir(), s.getter())
			pod := newPod(corev1.Volume{Name: "v", VolumeSource: tt.src})
			pod.Labels = map[string]string{"app": "web", "tier": "front"}
			pod.Spec.Containers = []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
			paths, err := m.Setup(pod)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tree(t, paths["v"])); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			mounts, err := m.Mounts(pod, &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/info"}}}, paths)
			if err != nil || len(mounts) != 1 || !mounts[0].ReadOnly {
				t.Errorf("mounts = %v, %v; want one read-only", mounts, err)
			}
		})
	}
}
