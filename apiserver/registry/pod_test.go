package registry

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validPod is a pod that passes validation once defaulted.
func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "u1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "web",
				Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
			}},
			Volumes: []corev1.Volume{{Name: "data"}, {Name: "config", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web"}}}}},
		},
	}
}

func TestPodDefaults(t *testing.T) {
	got := defaulted(Pods(), validPod())

	want := validPod()
	s := &want.Spec
	s.RestartPolicy = corev1.RestartPolicyAlways
	s.DNSPolicy = corev1.DNSClusterFirst
	s.TerminationGracePeriodSeconds = ptrTo(int64(30))
	s.SchedulerName = "default-scheduler"
	s.SecurityContext = &corev1.PodSecurityContext{}
	s.ServiceAccountName = "default"
	s.DeprecatedServiceAccount = "default"
	s.EnableServiceLinks = ptrTo(true)
	s.Priority = ptrTo(int32(0))
	s.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
	s.Tolerations = []corev1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
	}
	c := &s.Containers[0]
	c.ImagePullPolicy = corev1.PullIfNotPresent
	c.TerminationMessagePath = "/dev/termination-log"
	c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	c.Ports[0].Protocol = corev1.ProtocolTCP
	c.Env[0].ValueFrom.FieldRef.APIVersion = "v1"
	c.ReadinessProbe.TimeoutSeconds = 1
	c.ReadinessProbe.PeriodSeconds = 10
	c.ReadinessProbe.SuccessThreshold = 1
	c.ReadinessProbe.FailureThreshold = 3
	c.ReadinessProbe.HTTPGet.Path = "/"
	c.ReadinessProbe.HTTPGet.Scheme = corev1.URISchemeHTTP
	c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("64Mi")
	s.Volumes[0].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	s.Volumes[1].ConfigMap.DefaultMode = ptrTo(int32(0644))

	if d := diff(want, got); d != "" {
		t.Errorf("defaulted pod (-want +got):\n%s", d)
	}
	// Defaulting twice changes nothing.
	again := defaulted(Pods(), deepCopy(got))
	if d := diff(got, again); d != "" {
		t.Errorf("second Default (-first +second):\n%s", d)
	}
}

func TestPodImagePullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                     corev1.PullAlways,
		"nginx:latest":              corev1.PullAlways,
		"nginx:1.27":                corev1.PullIfNotPresent,
		"localhost:5000/nginx":      corev1.PullAlways,
		"localhost:5000/nginx:1.27": corev1.PullIfNotPresent,
		"nginx@sha256:" + strings.Repeat("a", 64): corev1.PullIfNotPresent,
		"": corev1.PullIfNotPresent,
	} {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestPodTolerationsNotDuplicated(t *testing.T) {
	pod := validPod()
	pod.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
	defaulted(Pods(), pod)
	var keys []string
	for _, tol := range pod.Spec.Tolerations {
		keys = append(keys, tol.Key)
	}
	if d := diff([]string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}, keys); d != "" {
		t.Errorf("toleration keys (-want +got):\n%s", d)
	}
}

func TestPodValidation(t *testing.T) {
	k := Pods()
	if errs := k.ValidateCreate(defaulted(k, validPod())); len(errs) != 0 {
		t.Fatalf("valid pod: %v", errs.ToAggregate())
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"bad container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web_1" }, []string{"spec.containers[0].name: Invalid value"}},
		{"duplicate names across init containers", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "web", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}
		}, []string{"spec.initContainers[0].name: Duplicate value"}},
		{"bad ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 70000, Protocol: "TCP"},
				{Name: "http", ContainerPort: 81, HostPort: -1, Protocol: "HTTP"},
				{Name: "Not_IANA", Protocol: "TCP"},
			}
		}, []string{
			"spec.containers[0].ports[0].containerPort: Invalid value",
			"spec.containers[0].ports[1].name: Duplicate value",
			"spec.containers[0].ports[1].hostPort: Invalid value",
			"spec.containers[0].ports[1].protocol: Unsupported value",
			"spec.containers[0].ports[2].name: Invalid value",
			"spec.containers[0].ports[2].containerPort: Required value",
		}},
		{"policies", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = "Google"
		}, []string{"spec.restartPolicy: Unsupported value", "spec.dnsPolicy: Unsupported value"}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1")
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("-1")
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("-1")
			p.Spec.Containers[0].Resources.Limits["gpus"] = resource.MustParse("1")
		}, []string{
			"spec.containers[0].resources.requests: Invalid value",
			"spec.containers[0].resources.limits[memory]: Invalid value",
			"spec.containers[0].resources.requests[memory]: Invalid value",
			"spec.containers[0].resources.limits[gpus]: Invalid value",
		}},
		{"volumes", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				corev1.Volume{Name: "two", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{},
					HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
				corev1.Volume{Name: "Bad_Name", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
				corev1.Volume{Name: "none"},
			)
		}, []string{
			"spec.volumes[2].name: Duplicate value",
			"spec.volumes[3].emptyDir: Forbidden",
			"spec.volumes[4].name: Invalid value",
			"spec.volumes[4].secret.secretName: Required value",
			"spec.volumes[5]: Required value",
		}},
		{"volume mounts", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "missing", MountPath: "/a"}, {Name: "config"}, {Name: "data", MountPath: "/a", SubPath: "../x"}}
		}, []string{
			"spec.containers[0].volumeMounts[0].name: Not found",
			"spec.containers[0].volumeMounts[1].mountPath: Required value",
			"spec.containers[0].volumeMounts[2].mountPath: Invalid value",
			"spec.containers[0].volumeMounts[2].subPath: Invalid value",
		}},
		{"env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A=B"}, {Name: ""},
				{Name: "X", Value: "v", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
				{Name: "Y", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.containers"}}},
			}
		}, []string{
			"spec.containers[0].env[0].name: Invalid value",
			"spec.containers[0].env[1].name: Required value",
			"spec.containers[0].env[2].valueFrom: Invalid value",
			"spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Unsupported value",
		}},
		{"probes", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 2}
		}, []string{
			"spec.containers[0].readinessProbe.tcpSocket: Forbidden",
			"spec.containers[0].livenessProbe: Required value",
			"spec.containers[0].livenessProbe.successThreshold: Invalid value",
		}},
		{"init container probes", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}
		}, []string{"spec.initContainers[0].readinessProbe: Forbidden"}},
		{"spec fields", func(p *corev1.Pod) {
			p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(-1))
			p.Spec.ActiveDeadlineSeconds = ptrTo(int64(0))
			p.Spec.NodeName = "Node_1"
			p.Spec.Hostname = "a.b"
			p.Spec.NodeSelector = map[string]string{"bad key!": "v"}
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: "Maybe", Effect: "Sometimes"})
		}, []string{
			"spec.terminationGracePeriodSeconds: Invalid value",
			"spec.activeDeadlineSeconds: Invalid value",
			"spec.nodeName: Invalid value",
			"spec.hostname: Invalid value",
			"spec.nodeSelector: Invalid value",
			"spec.tolerations[2].operator: Unsupported value",
			"spec.tolerations[2].effect: Unsupported value",
		}},
		{"metadata", func(p *corev1.Pod) {
			p.Name = "Web_1"
			p.Namespace = ""
			p.Labels = map[string]string{"app": "not a value"}
			p.Finalizers = []string{"mine"}
		}, []string{
			"metadata.name: Invalid value",
			"metadata.namespace: Required value",
			"metadata.labels: Invalid value",
			"metadata.finalizers[0]: Invalid value",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := defaulted(k, validPod())
			tc.mutate(pod)
			checkPaths(t, k.ValidateCreate(pod), tc.want...)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	k := Pods()
	old := defaulted(k, validPod())
	old.ResourceVersion = "1"
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"added toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, nil},
		{"labels", func(p *corev1.Pod) { p.Labels["tier"] = "front" }, nil},
		{"node name", func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }, []string{"spec: Forbidden"}},
		{"container port", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 8080 }, []string{"spec: Forbidden"}},
		{"removed toleration", func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[:1] }, []string{"spec.tolerations: Forbidden"}},
		{"added container", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"})
		}, []string{"spec.containers: Forbidden"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := deepCopy(old)
			tc.mutate(pod)
			checkPaths(t, k.ValidateUpdateOf(pod, old), tc.want...)
		})
	}

	t.Run("message", func(t *testing.T) {
		pod := deepCopy(old)
		pod.Spec.NodeName = "node-2"
		errs := k.ValidateUpdate(pod, old)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Detail, "pod updates may not change fields other than `spec.containers[*].image`") ||
			!strings.Contains(errs[0].Detail, "changed: spec.nodeName") {
			t.Errorf("errors = %v", errs)
		}
	})
	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		o := deepCopy(old)
		o.Spec.ActiveDeadlineSeconds = ptrTo(int64(100))
		lower, higher := deepCopy(o), deepCopy(o)
		lower.Spec.ActiveDeadlineSeconds = ptrTo(int64(50))
		higher.Spec.ActiveDeadlineSeconds = ptrTo(int64(200))
		checkPaths(t, k.ValidateUpdate(lower, o))
		checkPaths(t, k.ValidateUpdate(higher, o), "spec.activeDeadlineSeconds: Invalid value")
	})
}

func TestPodPrepareForCreate(t *testing.T) {
	k := Pods()
	for _, tc := range []struct {
		name      string
		resources corev1.ResourceRequirements
		want      corev1.PodQOSClass
	}{
		{"best effort", corev1.ResourceRequirements{}, corev1.PodQOSBestEffort},
		{"burstable", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}, corev1.PodQOSBurstable},
		{"guaranteed from limits", corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}, corev1.PodQOSGuaranteed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			pod.Spec.Containers[0].Resources = tc.resources
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}
			k.PrepareForCreate(pod)
			if d := diff(corev1.PodStatus{Phase: corev1.PodPending, QOSClass: tc.want}, pod.Status); d != "" {
				t.Errorf("status (-want +got):\n%s", d)
			}
		})
	}
}

func TestPodFields(t *testing.T) {
	pod := defaulted(Pods(), validPod())
	pod.Spec.NodeName = "node-1"
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}}}
	want := fields.Set{
		"metadata.name": "web-1", "metadata.namespace": "default",
		"spec.nodeName": "node-1", "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "default", "spec.hostNetwork": "false",
		"status.phase": "Running", "status.podIP": "10.0.0.7", "status.nominatedNodeName": "",
	}
	if d := diff(want, Pods().ObjectFields(pod, pod.Name, pod.Namespace)); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}

func TestPodRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-2 * time.Hour))
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	base := func() *corev1.Pod {
		p := validPod()
		p.CreationTimestamp = created
		p.Spec.NodeName = "node-1"
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}}}
		return p
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []interface{}
	}{
		{"running", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Ready: true, State: running}}
		}, []interface{}{"1/1", "Running", "0", "120m", "10.0.0.7", "node-1", "<none>", "<none>"}},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
		}, []interface{}{"0/1", "Completed", "0", "120m", "10.0.0.7", "node-1", "<none>", "<none>"}},
		{"crash loop", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", RestartCount: 5,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-30 * time.Minute))}}}}
		}, []interface{}{"0/1", "CrashLoopBackOff", "5 (30m ago)", "120m", "10.0.0.7", "node-1", "<none>", "<none>"}},
		{"terminating", func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: now}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Ready: true, State: running}}
		}, []interface{}{"1/1", "Terminating", "0", "120m", "10.0.0.7", "node-1", "<none>", "<none>"}},
		{"init", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.PodIPs = nil
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "busybox"}}
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
		}, []interface{}{"0/1", "Init:0/1", "0", "120m", "<none>", "node-1", "<none>", "0/1"}},
		{"init failing", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "busybox"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", RestartCount: 2,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
		}, []interface{}{"0/1", "Init:CrashLoopBackOff", "2", "120m", "10.0.0.7", "node-1", "<none>", "<none>"}},
		{"pending", func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodPending}
			p.Spec.NodeName = ""
		}, []interface{}{"0/1", "Pending", "0", "120m", "<none>", "<none>", "<none>", "<none>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.mutate(p)
			if d := diff(tc.want, podRow(p, now)); d != "" {
				t.Errorf("row (-want +got):\n%s", d)
			}
		})
	}
}
