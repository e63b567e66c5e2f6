package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testbox is the image with busybox's shell and tools.
const testbox = "berth.dev/testbox:latest"

// TestKubeletPodFeatures runs, on one node, pods that use what issue 6
// lists: sidecars on localhost, env, args and volumes, probes, memory
// limits, graceful deletion and images dropped into DATA_DIR/images.
func TestKubeletPodFeatures(t *testing.T) {
	c := startCluster(t)
	// The subtests run in parallel; the cluster's cleanup waits for them.
	t.Run("sidecar on localhost", c.testSidecar)
	t.Run("env args and volumes", c.testEnvArgsVolumes)
	t.Run("shared emptyDir", c.testSharedEmptyDir)
	t.Run("readiness probe fails", c.testReadinessFails)
	t.Run("liveness probe restarts", c.testLivenessRestarts)
	t.Run("OOMKilled", c.testOOMKilled)
	t.Run("SIGTERM on delete", c.testSIGTERMOnDelete)
	t.Run("dropped image tarball", c.testDroppedImage)
}

// pod is a pod on node-1 in default with a short grace period.
func pod(name string, containers ...corev1.Container) *corev1.Pod {
	grace := int64(2)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: "node-1", TerminationGracePeriodSeconds: &grace, Containers: containers},
	}
}

// box is a testbox container running sh -c script.
func box(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: testbox, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
}

// run creates p, deletes it when the test ends, and returns it.
func (c *cluster) run(t *testing.T, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	created := createPod(t, c.admin, p)
	t.Cleanup(func() { c.deleteAndWait(t, p.Name) })
	return created
}

// deleteAndWait deletes the pod and waits until it is gone.
func (c *cluster) deleteAndWait(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	if err := c.admin.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete pod %s: %v", name, err)
		return
	}
	waitFor(t, "pod "+name+" gone", func() (struct{}, bool) {
		_, err := c.admin.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return struct{}{}, apierrors.IsNotFound(err)
	})
}

// get is the pod as the API has it now.
func (c *cluster) get(name string) (*corev1.Pod, bool) {
	p, err := c.admin.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	return p, err == nil
}

// containerID is the runtime's id of the named container of p.
func containerID(t *testing.T, p *corev1.Pod, container string) string {
	t.Helper()
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return strings.TrimPrefix(cs.ContainerID, "containerd://")
		}
	}
	t.Fatalf("pod %s has no status for container %s: %+v", p.Name, container, p.Status.ContainerStatuses)
	return ""
}

// exec runs argv in the container and returns its output, failing the
// test on a non-zero exit.
func (c *cluster) exec(t *testing.T, id string, argv ...string) string {
	t.Helper()
	code, out, err := c.rt.Exec(context.Background(), id, argv, 10*time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exec %q: exit %d, %v: %s", argv, code, err, out)
	}
	return string(out)
}

func (c *cluster) testSidecar(t *testing.T) {
	t.Parallel()
	side := box("side", "sleep 3600")
	side.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"wget", "-qO-", "http://127.0.0.1:8080/"}}},
		PeriodSeconds: 1,
	}
	p := c.run(t, pod("duo", corev1.Container{
		Name: "hello", Image: "berth.dev/hello:latest", ImagePullPolicy: corev1.PullIfNotPresent,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	}, side))
	// Ready means the sidecar's probe reached hello on localhost.
	ready := waitReady(t, c.admin, p)
	out := c.exec(t, containerID(t, ready, "side"), "wget", "-qO-", "http://127.0.0.1:8080/")
	body := httpGetIn(t, c.node.Path, net.JoinHostPort(ready.Status.PodIP, "8080"), "/")
	if out == "" || body != out {
		t.Errorf("hello from the sidecar on localhost %q, from the node at the pod IP %q; want the same, non-empty", out, body)
	}
}

func (c *cluster) testEnvArgsVolumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := c.admin.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "features-cfg", Namespace: "default"},
		Data:       map[string]string{"color": "blue"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "features-secret", Namespace: "default"},
		Data:       map[string][]byte{"password": []byte("s3cret")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctr := corev1.Container{
		Name: "app", Image: testbox, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: []string{"sleep"}, Args: []string{"3600"},
		Env: []corev1.EnvVar{{Name: "FOO", Value: "bar"}},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "cfg", MountPath: "/etc/cfg"},
			{Name: "secret", MountPath: "/etc/secret", ReadOnly: true},
		},
	}
	p := pod("conf", ctr)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "features-cfg"}}}},
		{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "features-secret"}}},
	}
	ready := waitReady(t, c.admin, c.run(t, p))
	id := containerID(t, ready, "app")
	got := c.exec(t, id, "sh", "-c", `echo "$FOO"; cat /etc/cfg/color; echo; cat /etc/secret/password; echo; tr '\0' ' ' < /proc/1/cmdline`)
	if want := "bar\nblue\ns3cret\nsleep 3600 "; got != want {
		t.Errorf("env, configMap, secret and args in the container: %q, want %q", got, want)
	}
}

func (c *cluster) testSharedEmptyDir(t *testing.T) {
	t.Parallel()
	writer, reader := box("writer", "echo shared-data > /data/f; sleep 3600"), box("reader", "sleep 3600")
	for _, ctr := range []*corev1.Container{&writer, &reader} {
		ctr.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	p := pod("share", writer, reader)
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	ready := waitReady(t, c.admin, c.run(t, p))
	id := containerID(t, ready, "reader")
	waitFor(t, "the writer's file seen by the reader", func() (string, bool) {
		_, out, err := c.rt.Exec(context.Background(), id, []string{"cat", "/data/f"}, 10*time.Second)
		return string(out), err == nil && string(out) == "shared-data\n"
	})
}

func (c *cluster) testReadinessFails(t *testing.T) {
	t.Parallel()
	ctr := box("app", "sleep 3600")
	ctr.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
		PeriodSeconds: 1,
	}
	p := c.run(t, pod("unready", ctr))
	waitFor(t, "the container running and started", func() (*corev1.Pod, bool) {
		p, ok := c.get(p.Name)
		if !ok || len(p.Status.ContainerStatuses) == 0 {
			return p, false
		}
		cs := p.Status.ContainerStatuses[0]
		return p, cs.State.Running != nil && cs.Started != nil && *cs.Started
	})
	time.Sleep(3 * time.Second) // several failed probes
	got, _ := c.get(p.Name)
	for _, cond := range got.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionFalse {
			t.Errorf("Ready %s with a failing readiness probe", cond.Status)
		}
	}
	if cs := got.Status.ContainerStatuses[0]; cs.Ready || cs.RestartCount != 0 || got.Status.Phase != corev1.PodRunning {
		t.Errorf("container ready %v, restarts %d, phase %s; want not ready, running, never restarted", cs.Ready, cs.RestartCount, got.Status.Phase)
	}
}

func (c *cluster) testLivenessRestarts(t *testing.T) {
	t.Parallel()
	ctr := box("app", "sleep 3600")
	ctr.LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	p := c.run(t, pod("unlive", ctr))
	// Killed after a second, restarted, killed again: between the restarts
	// the container waits out its crash-loop backoff (10 s, then 20 s).
	crashLoop := false
	waitFor(t, "two restarts after failed liveness probes, with CrashLoopBackOff between them", func() (corev1.ContainerStatus, bool) {
		p, ok := c.get(p.Name)
		if !ok || len(p.Status.ContainerStatuses) == 0 {
			return corev1.ContainerStatus{}, false
		}
		cs := p.Status.ContainerStatuses[0]
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			crashLoop = true
			if !strings.Contains(w.Message, "back-off") || cs.LastTerminationState.Terminated == nil {
				t.Errorf("waiting %+v, last state %+v; want a back-off message and the last termination", w, cs.LastTerminationState)
			}
		}
		return cs, crashLoop && cs.RestartCount >= 2 && cs.LastTerminationState.Terminated != nil
	})
}

func (c *cluster) testOOMKilled(t *testing.T) {
	t.Parallel()
	ctr := box("hog", "dd if=/dev/zero bs=1M count=200 | tail")
	ctr.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	p := pod("hog", ctr)
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p = c.run(t, p)
	got := waitFor(t, "the hog terminated", func() (*corev1.Pod, bool) {
		p, ok := c.get(p.Name)
		return p, ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
	if term := got.Status.ContainerStatuses[0].State.Terminated; term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("terminated %+v, want reason OOMKilled, exit code 137", term)
	}
	if got.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed", got.Status.Phase)
	}
}

func (c *cluster) testSIGTERMOnDelete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctr := box("app", `trap "echo got-term > /data/term; exit 0" TERM; while true; do sleep 1; done`)
	ctr.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	p := pod("term", ctr)
	grace := int64(20)
	p.Spec.TerminationGracePeriodSeconds = &grace
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
	p = createPod(t, c.admin, p)
	waitReady(t, c.admin, p)
	c.deleteAndWait(t, p.Name)
	if b, err := os.ReadFile(filepath.Join(dir, "term")); err != nil || string(b) != "got-term\n" {
		t.Errorf("marker written on SIGTERM: %q, %v; want \"got-term\\n\"", b, err)
	}
}

func (c *cluster) testDroppedImage(t *testing.T) {
	t.Parallel()
	images := filepath.Join(c.dataDir, "images")
	img, err := tarball.ImageFromPath(filepath.Join(images, "testbox.tar"), nil)
	if err != nil {
		t.Fatalf("read testbox.tar: %v", err)
	}
	tag, err := name.NewTag("berth.dev/dropped:v1")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "dropped.tar")
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		t.Fatalf("write dropped.tar: %v", err)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	// Written whole under a name the importer skips, then renamed.
	part := filepath.Join(images, "dropped.tar.part")
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(part, filepath.Join(images, "dropped.tar")); err != nil {
		t.Fatal(err)
	}
	p := pod("dropped", corev1.Container{Name: "app", Image: "berth.dev/dropped:v1", ImagePullPolicy: corev1.PullNever, Command: []string{"sleep", "3600"}})
	waitReady(t, c.admin, c.run(t, p))
}
