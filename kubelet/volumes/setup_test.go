package volumes

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestSetupConfigMapAndSecret(t *testing.T) {
	s := &store{
		cms: map[string]*corev1.ConfigMap{"shop/cfg": {
			Data:       map[string]string{"app.conf": "a=1", "level": "3"},
			BinaryData: map[string][]byte{"blob": {0, 1}},
		}},
		secrets: map[string]*corev1.Secret{"shop/creds": {Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("pw")}}},
	}
	cmVol := func(name string, items []corev1.KeyToPath, mode *int32, optional bool) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: items, DefaultMode: mode, Optional: &optional}}}
	}
	secretVol := func(name, secret string, items []corev1.KeyToPath, mode *int32, optional bool) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret, Items: items, DefaultMode: mode, Optional: &optional}}}
	}
	tests := []struct {
		name    string
		vol     corev1.Volume
		want    []string
		wantErr string
	}{
		{"configMap all keys", cmVol("v", nil, nil, false),
			[]string{"app.conf -rw-r--r-- a=1", "blob -rw-r--r-- \x00\x01", "level -rw-r--r-- 3"}, ""},
		{"configMap defaultMode", cmVol("v", nil, ptr[int32](0o400), false),
			[]string{"app.conf -r-------- a=1", "blob -r-------- \x00\x01", "level -r-------- 3"}, ""},
		{"configMap items with paths and modes", cmVol("v", []corev1.KeyToPath{
			{Key: "app.conf", Path: "etc/app/app.conf"}, {Key: "level", Path: "level.txt", Mode: ptr[int32](0o600)}}, ptr[int32](0o440), false),
			[]string{"etc/app/app.conf -r--r----- a=1", "level.txt -rw------- 3"}, ""},
		{"configMap missing item key", cmVol("v", []corev1.KeyToPath{{Key: "nope", Path: "x"}}, nil, false),
			nil, `MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: nope`},
		{"configMap missing item key optional", cmVol("v", []corev1.KeyToPath{{Key: "nope", Path: "x"}, {Key: "level", Path: "l"}}, nil, true),
			[]string{"l -rw-r--r-- 3"}, ""},
		{"configMap item escaping", cmVol("v", []corev1.KeyToPath{{Key: "level", Path: "../x"}}, nil, false),
			nil, `MountVolume.SetUp failed for volume "v" : invalid file path "../x": must not contain '..', '.' or empty elements`},
		{"secret all keys", secretVol("s", "creds", nil, nil, false),
			[]string{"pass -rw-r--r-- pw", "user -rw-r--r-- admin"}, ""},
		{"secret items", secretVol("s", "creds", []corev1.KeyToPath{{Key: "user", Path: "u"}}, ptr[int32](0o400), false),
			[]string{"u -r-------- admin"}, ""},
		{"secret missing", secretVol("s", "nope", nil, nil, false),
			nil, `MountVolume.SetUp failed for volume "s" : secret "nope" not found`},
		{"secret missing key", secretVol("s", "creds", []corev1.KeyToPath{{Key: "k", Path: "k"}}, nil, false),
			nil, `MountVolume.SetUp failed for volume "s" : references non-existent secret key: k`},
		{"secret missing optional is empty", secretVol("s", "nope", nil, nil, true), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := New(dir, s.getter())
			paths, err := m.Setup(newPod(tt.vol))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "uid-1", "volumes", tt.vol.Name)
			if paths[tt.vol.Name] != want {
				t.Fatalf("path = %q, want %q", paths[tt.vol.Name], want)
			}
			if diff := cmp.Diff(tt.want, tree(t, want)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetupMissingConfigMap(t *testing.T) {
	m := New(t.TempDir(), Getter{})
	_, err := m.Setup(newPod(corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}))
	if err == nil || err.Error() != `MountVolume.SetUp failed for volume "c" : configmap "cfg" not found` {
		t.Fatalf("error = %v", err)
	}
}

// TestSetupUpdatesAtomically checks that a second Setup swaps new contents
// in under the same directory (a mount of it sees them), removes keys that
// went away, and leaves an unchanged payload untouched.
func TestSetupUpdatesAtomically(t *testing.T) {
	s := &store{cms: map[string]*corev1.ConfigMap{"shop/cfg": {Data: map[string]string{"a": "1", "b": "2"}}}}
	m := New(t.TempDir(), s.getter())
	pod := newPod(corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}})
	paths, err := m.Setup(pod)
	if err != nil {
		t.Fatal(err)
	}
	vol := paths["c"]
	first, _ := os.Readlink(filepath.Join(vol, dataLink))

	if _, err := m.Setup(pod); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(vol, dataLink)); again != first {
		t.Errorf("unchanged payload rewritten: %s -> %s", first, again)
	}

	s.cms["shop/cfg"] = &corev1.ConfigMap{Data: map[string]string{"a": "10", "c": "3"}}
	if _, err := m.Setup(pod); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a -rw-r--r-- 10", "c -rw-r--r-- 3"}, tree(t, vol)); diff != "" {
		t.Errorf("files after update (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(vol)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // ..<ts>, ..data, a, c
		t.Errorf("volume holds %v, want the new payload dir, ..data, a and c", names)
	}
	if _, err := os.Stat(filepath.Join(vol, first)); !os.IsNotExist(err) {
		t.Errorf("old payload %s not removed: %v", first, err)
	}
}

func TestSetupEmptyDirAndUnsupported(t *testing.T) {
	dir := t.TempDir()
	m := New(dir, Getter{})
	paths, err := m.Setup(newPod(
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scratch", "mem"} {
		info, err := os.Stat(paths[name])
		if err != nil || !info.IsDir() || info.Mode().Perm() != 0o777 {
			t.Errorf("%s: %v %v", name, info, err)
		}
	}
	// Setup again keeps what containers wrote.
	if err := os.WriteFile(filepath.Join(paths["scratch"], "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(newPod(corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(paths["scratch"], "f")); err != nil {
		t.Errorf("emptyDir content lost: %v", err)
	}

	_, err = m.Setup(newPod(corev1.Volume{Name: "claim", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}))
	if err == nil || !strings.Contains(err.Error(), `volume "claim"`) {
		t.Errorf("unsupported volume error = %v", err)
	}
	if _, err := New(dir, Getter{}).Setup(&corev1.Pod{}); err == nil {
		t.Error("pod without UID accepted")
	}
}

func TestSetupHostPath(t *testing.T) {
	base := t.TempDir()
	dirPath := filepath.Join(base, "dir")
	filePath := filepath.Join(base, "file")
	sockPath := filepath.Join(base, "sock")
	if err := os.Mkdir(dirPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filePath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	missing := filepath.Join(base, "missing")

	tests := []struct {
		name    string
		path    string
		typ     corev1.HostPathType
		wantErr string
		check   func(t *testing.T)
	}{
		{"unset missing", missing, corev1.HostPathUnset, "", nil},
		{"directory", dirPath, corev1.HostPathDirectory, "", nil},
		{"directory is file", filePath, corev1.HostPathDirectory, "is not a directory", nil},
		{"directory missing", missing, corev1.HostPathDirectory, "is not a directory", nil},
		{"directory or create", filepath.Join(base, "new", "dir"), corev1.HostPathDirectoryOrCreate, "", func(t *testing.T) {
			if info, err := os.Stat(filepath.Join(base, "new", "dir")); err != nil || !info.IsDir() {
				t.Errorf("not created: %v", err)
			}
		}},
		{"directory or create on file", filePath, corev1.HostPathDirectoryOrCreate, "is not a directory", nil},
		{"file", filePath, corev1.HostPathFile, "", nil},
		{"file is dir", dirPath, corev1.HostPathFile, "is not a file", nil},
		{"file or create", filepath.Join(base, "newfile"), corev1.HostPathFileOrCreate, "", func(t *testing.T) {
			if info, err := os.Stat(filepath.Join(base, "newfile")); err != nil || !info.Mode().IsRegular() {
				t.Errorf("not created: %v", err)
			}
		}},
		{"socket", sockPath, corev1.HostPathSocket, "", nil},
		{"socket is file", filePath, corev1.HostPathSocket, "is not a socket file", nil},
		{"char device", "/dev/null", corev1.HostPathCharDev, "", nil},
		{"char device is file", filePath, corev1.HostPathCharDev, "is not a character device", nil},
		{"block device is char", "/dev/null", corev1.HostPathBlockDev, "is not a block device", nil},
		{"bad type", dirPath, "Weird", "Weird is an invalid volume type", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(t.TempDir(), Getter{})
			typ := tt.typ
			paths, err := m.Setup(newPod(corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: tt.path, Type: &typ}}}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if paths["h"] != tt.path {
				t.Errorf("path = %q, want %q", paths["h"], tt.path)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}
