package env

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "hi"}},
		Spec: corev1.PodSpec{NodeName: "node-a", ServiceAccountName: "sa",
			Containers: []corev1.Container{{Name: "main"}, {Name: "side", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}},
	}
}

func testInputs() Inputs {
	cms := map[string]*corev1.ConfigMap{
		"cfg": {Data: map[string]string{"MODE": "prod", "LEVEL": "3", "bad-key": "x", "1ST": "y"}},
	}
	secrets := map[string]*corev1.Secret{
		"creds": {Data: map[string][]byte{"USER": []byte("admin"), "PASS": []byte("s3cret")}},
	}
	return Inputs{
		PodIP: "10.1.0.5", PodIPs: []string{"10.1.0.5", "fd00::5"}, HostIP: "192.168.1.2", NodeName: "node-a",
		ConfigMap: func(ns, name string) (*corev1.ConfigMap, error) {
			if ns != "shop" {
				return nil, errors.New("wrong namespace")
			}
			if name == "broken" {
				return nil, errors.New("connection refused")
			}
			if name == "gone" {
				return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
			}
			return cms[name], nil
		},
		Secret: func(ns, name string) (*corev1.Secret, error) {
			return secrets[name], nil
		},
		ServiceEnv: []string{"DB_SERVICE_HOST=10.96.0.9", "MODE=svc"},
	}
}

func ptr[T any](v T) *T { return &v }

func TestResolve(t *testing.T) {
	cmRef := func(name string, optional bool) *corev1.ConfigMapEnvSource {
		return &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptr(optional)}
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	res := func(r, container, divisor string) *corev1.EnvVarSource {
		fs := &corev1.ResourceFieldSelector{Resource: r, ContainerName: container}
		if divisor != "" {
			fs.Divisor = resource.MustParse(divisor)
		}
		return &corev1.EnvVarSource{ResourceFieldRef: fs}
	}
	cmKey := func(name, key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}}
	}
	secretKey := func(name, key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}}
	}
	tests := []struct {
		name    string
		c       corev1.Container
		in      func(*Inputs)
		want    []string
		wantErr string
	}{
		{
			name: "literal values expand earlier vars and services",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "a"},
				{Name: "B", Value: "$(A)-b-$(DB_SERVICE_HOST)-$(LATER)-$$(A)"},
				{Name: "LATER", Value: "l"},
				{Name: "EMPTY"},
			}},
			want: []string{"A=a", "B=a-b-10.96.0.9-$(LATER)-$(A)", "LATER=l", "EMPTY=", "DB_SERVICE_HOST=10.96.0.9", "MODE=svc"},
		},
		{
			name: "envFrom with prefix, invalid key 1ST skipped, env overrides, service env does not",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: cmRef("cfg", false)},
					{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
				},
				Env: []corev1.EnvVar{{Name: "LEVEL", Value: "$(LEVEL)0"}},
			},
			want: []string{"LEVEL=30", "MODE=prod", "bad-key=x", "S_PASS=s3cret", "S_USER=admin", "DB_SERVICE_HOST=10.96.0.9"},
		},
		{
			name:    "envFrom missing configmap",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("nope", false)}}},
			wantErr: `configmap "nope" not found`,
		},
		{
			name:    "envFrom configmap NotFound from the getter is reworded",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("gone", false)}}},
			wantErr: `configmap "gone" not found`,
		},
		{
			name: "envFrom optional missing configmap and secret",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: cmRef("gone", true)},
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Optional: ptr(true)}},
			}},
			in:   func(in *Inputs) { in.ServiceEnv = nil },
			want: []string{},
		},
		{
			name:    "envFrom getter failure is not skipped even when optional",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("broken", true)}}},
			wantErr: "get configmap shop/broken: connection refused",
		},
		{
			name:    "envFrom missing secret",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}}},
			wantErr: `secret "x" not found`,
		},
		{
			name: "fieldRef",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "NAME", ValueFrom: field("metadata.name")},
				{Name: "NS", ValueFrom: field("metadata.namespace")},
				{Name: "UID", ValueFrom: field("metadata.uid")},
				{Name: "APP", ValueFrom: field("metadata.labels['app']")},
				{Name: "NONE", ValueFrom: field("metadata.labels['none']")},
				{Name: "NOTE", ValueFrom: field("metadata.annotations['note']")},
				{Name: "LABELS", ValueFrom: field("metadata.labels")},
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
				{Name: "IP", ValueFrom: field("status.podIP")},
				{Name: "IPS", ValueFrom: field("status.podIPs")},
				{Name: "HOST", ValueFrom: field("status.hostIP")},
				{Name: "HOSTS", ValueFrom: field("status.hostIPs")},
				{Name: "REF", Value: "$(NAME).$(NS)"},
			}},
			in: func(in *Inputs) { in.ServiceEnv = nil },
			want: []string{"NAME=web", "NS=shop", "UID=uid-1", "APP=web", "NONE=", "NOTE=hi",
				"LABELS=app=\"web\"\ntier=\"front\"", "NODE=node-a", "SA=sa", "IP=10.1.0.5",
				"IPS=10.1.0.5,fd00::5", "HOST=192.168.1.2", "HOSTS=192.168.1.2", "REF=web.shop"},
		},
		{
			name:    "unsupported fieldRef",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("spec.hostname")}}},
			wantErr: "unsupported fieldPath: spec.hostname",
		},
		{
			name: "resourceFieldRef",
			c: corev1.Container{
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
				},
				Env: []corev1.EnvVar{
					{Name: "CPU", ValueFrom: res("limits.cpu", "", "")},
					{Name: "CPU_M", ValueFrom: res("limits.cpu", "", "1m")},
					{Name: "MEM", ValueFrom: res("limits.memory", "", "")},
					{Name: "MEM_MI", ValueFrom: res("limits.memory", "", "1Mi")},
					{Name: "REQ_CPU_M", ValueFrom: res("requests.cpu", "", "1m")},
					{Name: "REQ_MEM", ValueFrom: res("requests.memory", "", "1Mi")},
					{Name: "SIDE_MEM", ValueFrom: res("limits.memory", "side", "1Mi")},
					{Name: "SIDE_CPU", ValueFrom: res("limits.cpu", "side", "")},
				},
			},
			in: func(in *Inputs) {
				in.ServiceEnv = nil
				in.NodeAllocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			},
			want: []string{"CPU=2", "CPU_M=1500", "MEM=134217728", "MEM_MI=128", "REQ_CPU_M=250", "REQ_MEM=128", "SIDE_MEM=64", "SIDE_CPU=4"},
		},
		{
			name:    "resourceFieldRef unknown container",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: res("limits.cpu", "ghost", "")}}},
			wantErr: "resourceFieldRef: container ghost not found in pod shop/web",
		},
		{
			name:    "resourceFieldRef unsupported resource",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: res("limits.gpu", "", "")}}},
			wantErr: "unsupported container resource : limits.gpu",
		},
		{
			name: "configMapKeyRef and secretKeyRef",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "M", ValueFrom: cmKey("cfg", "MODE", false)},
				{Name: "U", ValueFrom: secretKey("creds", "USER", false)},
				{Name: "OPT1", ValueFrom: cmKey("cfg", "missing", true)},
				{Name: "OPT2", ValueFrom: cmKey("nope", "x", true)},
				{Name: "OPT3", ValueFrom: secretKey("creds", "missing", true)},
				{Name: "OPT4", ValueFrom: secretKey("nope", "x", true)},
			}},
			in:   func(in *Inputs) { in.ServiceEnv = nil },
			want: []string{"M=prod", "U=admin"},
		},
		{
			name:    "configMapKeyRef missing key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "M", ValueFrom: cmKey("cfg", "missing", false)}}},
			wantErr: "couldn't find key missing in ConfigMap shop/cfg",
		},
		{
			name:    "configMapKeyRef missing map",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "M", ValueFrom: cmKey("nope", "k", false)}}},
			wantErr: `configmap "nope" not found`,
		},
		{
			name:    "secretKeyRef missing key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "M", ValueFrom: secretKey("creds", "missing", false)}}},
			wantErr: "couldn't find key missing in Secret shop/creds",
		},
		{
			name:    "secretKeyRef missing secret",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "M", ValueFrom: secretKey("nope", "k", false)}}},
			wantErr: `secret "nope" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInputs()
			if tt.in != nil {
				tt.in(&in)
			}
			got, err := Resolve(testPod(), &tt.c, in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveNilGetters(t *testing.T) {
	c := corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}}}
	_, err := Resolve(testPod(), &c, Inputs{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("error = %v, want NotFound", err)
	}
}

func TestResourceValueNeedsContainer(t *testing.T) {
	_, err := ResourceValue(testPod(), nil, &corev1.ResourceFieldSelector{Resource: "limits.cpu"}, nil)
	if err == nil || err.Error() != "resourceFieldRef limits.cpu: containerName is required" {
		t.Fatalf("error = %v", err)
	}
	v, err := ResourceValue(testPod(), nil, &corev1.ResourceFieldSelector{Resource: "limits.memory", ContainerName: "side",
		Divisor: resource.MustParse("1Mi")}, nil)
	if err != nil || v != "64" {
		t.Fatalf("ResourceValue = %q, %v; want 64", v, err)
	}
}
