package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

func TestMounts(t *testing.T) {
	s := &store{cms: map[string]*corev1.ConfigMap{"shop/cfg": {Data: map[string]string{"app.conf": "x"}}}}
	dir := t.TempDir()
	outside := t.TempDir()
	hostDir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(hostDir, "escape")); err != nil {
		t.Fatal(err)
	}
	m := New(dir, s.getter())
	pod := newPod(
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}},
	)
	paths, err := m.Setup(pod)
	if err != nil {
		t.Fatal(err)
	}
	vol := func(name string) string { return filepath.Join(dir, "uid-1", "volumes", name) }
	cfgFile, err := filepath.EvalSymlinks(filepath.Join(vol("cfg"), "app.conf"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		mounts  []corev1.VolumeMount
		want    []Mount
		wantErr string
	}{
		{"plain, readOnly, configMap forced read-only", []corev1.VolumeMount{
			{Name: "data", MountPath: "/data"},
			{Name: "data", MountPath: "/ro", ReadOnly: true},
			{Name: "cfg", MountPath: "/etc/app"},
			{Name: "host", MountPath: "/host"},
		}, []Mount{
			{HostPath: vol("data"), ContainerPath: "/data"},
			{HostPath: vol("data"), ContainerPath: "/ro", ReadOnly: true},
			{HostPath: vol("cfg"), ContainerPath: "/etc/app", ReadOnly: true},
			{HostPath: hostDir, ContainerPath: "/host"},
		}, ""},
		{"subPath created in emptyDir", []corev1.VolumeMount{{Name: "data", MountPath: "/logs", SubPath: "a/logs"}},
			[]Mount{{HostPath: filepath.Join(vol("data"), "a", "logs"), ContainerPath: "/logs"}}, ""},
		{"subPath of a configMap key", []corev1.VolumeMount{{Name: "cfg", MountPath: "/app.conf", SubPath: "app.conf"}},
			[]Mount{{HostPath: cfgFile, ContainerPath: "/app.conf", ReadOnly: true}}, ""},
		{"subPath with ..", []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "a/../../b"}},
			nil, `volumeMount "/x" of container "c": subPath "a/../../b" must not contain '..'`},
		{"absolute subPath", []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "/etc"}},
			nil, `volumeMount "/x" of container "c": subPath "/etc" must be a relative path`},
		{"subPath through a symlink out of the volume", []corev1.VolumeMount{{Name: "host", MountPath: "/x", SubPath: "escape"}},
			nil, `subPath "escape" leads out of the volume`},
		{"unknown volume", []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}},
			nil, `volumeMount "/x" of container "c": no volume "nope" in the pod`},
		{"subPathExpr", []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPathExpr: "$(POD)"}},
			nil, "subPathExpr is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c", VolumeMounts: tt.mounts}
			got, err := m.Mounts(pod, c, paths)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
		})
	}
	if info, err := os.Stat(filepath.Join(vol("data"), "a", "logs")); err != nil || info.Mode().Perm() != 0o777 {
		t.Errorf("subPath dir: %v %v, want mode 0777 like the volume", info, err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("something was created outside the volume: %v", entries)
	}
}

func TestCleanup(t *testing.T) {
	dir := t.TempDir()
	m := New(dir, Getter{})
	pod := newPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	if _, err := m.Setup(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := m.TerminationLogPath("uid-1", "c"); err != nil {
		t.Fatal(err)
	}
	if err := m.Cleanup("uid-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "uid-1")); !os.IsNotExist(err) {
		t.Errorf("pod directory left: %v", err)
	}
	if err := m.Cleanup("uid-1"); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if err := m.Cleanup(bad); err == nil {
			t.Errorf("Cleanup(%q) accepted", bad)
		}
	}
}

// TestCleanupRefusesMounts mounts a tmpfs under a pod's directory (in the
// test's own temp dir) and checks Cleanup leaves it alone.
func TestCleanupRefusesMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	m := New(dir, Getter{})
	target := filepath.Join(dir, "uid-2", "volumes", "mem")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", target, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	err := m.Cleanup("uid-2")
	if err == nil || !strings.Contains(err.Error(), "is mounted") {
		t.Fatalf("Cleanup error = %v, want a refusal", err)
	}
	if _, err := os.Stat(target); err != nil {
		t.Errorf("mount point removed: %v", err)
	}
}

func TestTerminationLogPath(t *testing.T) {
	dir := t.TempDir()
	m := New(dir, Getter{})
	p, err := m.TerminationLogPath("uid-1", "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "uid-1", "containers", "web", "termination-log"); p != want {
		t.Errorf("path = %q, want %q", p, want)
	}
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o666 {
		t.Errorf("file: %v %v", info, err)
	}
	if _, err := m.TerminationLogPath("uid-1", "../x"); err == nil {
		t.Error("container name with / accepted")
	}
}
