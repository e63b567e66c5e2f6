package volumes

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// store is a fake API for the Getter.
type store struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (s *store) getter() Getter {
	return Getter{
		ConfigMap: func(ns, name string) (*corev1.ConfigMap, error) { return s.cms[ns+"/"+name], nil },
		Secret:    func(ns, name string) (*corev1.Secret, error) { return s.secrets[ns+"/"+name], nil },
	}
}

func newPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1"},
		Spec:       corev1.PodSpec{Volumes: vols},
	}
}

// tree renders the files under dir as "path mode content" lines, following
// the user-visible symlinks like a container would, skipping ".."-names.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		root := filepath.Join(dir, e.Name())
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			t.Fatal(err)
		}
		err = filepath.Walk(real, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(real, path)
			name := filepath.Join(e.Name(), rel)
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, name+" "+info.Mode().Perm().String()+" "+string(data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}
