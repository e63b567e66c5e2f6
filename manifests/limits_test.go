package manifests

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// billionLaughs is a YAML alias bomb: nine levels of nine aliases expand to
// 9^9 (387 million) strings.
const billionLaughs = `apiVersion: v1
kind: ConfigMap
metadata:
  name: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// loadErrors loads fsys and returns the Errors, failing the test on success or
// on another error.
func loadErrors(t *testing.T, fsys fstest.MapFS) Errors {
	t.Helper()
	objs, err := LoadFS(fsys, Options{KnownNamespaces: func(string) bool { return true }})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("LoadFS = %d objects, %v; want Errors", len(objs), err)
	}
	return errs
}

func TestAliasBomb(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"manifest":      {"bomb.yaml": {Data: []byte(billionLaughs)}},
		"kustomization": {"k/kustomization.yaml": {Data: []byte(strings.Replace(billionLaughs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n", "", 1))}},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			errs := loadErrors(t, fsys)
			if d := time.Since(start); d > time.Second {
				t.Errorf("LoadFS took %v, want under a second", d)
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Message, "YAML aliases expand the document to more than") {
				t.Errorf("errors = %v, want one about alias expansion", errs)
			}
		})
	}
}

func TestAliasCycle(t *testing.T) {
	errs := loadErrors(t, fstest.MapFS{"cycle.yaml": {Data: []byte("a: &x\n  b: *x\n")}})
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one", errs)
	}
	if want := `cycle.yaml:1: YAML alias "x" refers to a node that contains it`; errs[0].Error() != want {
		t.Errorf("error = %q, want %q", errs[0].Error(), want)
	}
}

// TestAliasesAllowed checks that ordinary anchors and merge keys still load.
func TestAliasesAllowed(t *testing.T) {
	const doc = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - &c
    name: web
    image: nginx
    env: &env
    - {name: A, value: "1"}
  - <<: *c
    name: sidecar
    env: *env
`
	objs, err := LoadFS(fstest.MapFS{"pod.yaml": {Data: []byte(doc)}}, Options{KnownNamespaces: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
}

func TestFileTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("# "+strings.Repeat("x", 61)+"\n"), (11<<20)/64) // 11 MiB
	errs := loadErrors(t, fstest.MapFS{
		"big.yaml":             {Data: big},
		"big.txt":              {Data: big}, // not a manifest: ignored
		"k/kustomization.yaml": {Data: []byte("resources: [big.yaml]\n")},
		"k/big.yaml":           {Data: big},
	})
	want := []string{
		"big.yaml: file too large: 11534336 bytes, the limit is 10485760 (10 MiB)",
		"k/big.yaml: file too large: 11534336 bytes, the limit is 10485760 (10 MiB)",
	}
	if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", errs, strings.Join(want, "\n"))
	}
}

// hugeFS is a MapFS in which big.yaml claims to be 1 TiB and must not be opened.
type hugeFS struct {
	fstest.MapFS
	t *testing.T
}

func (f hugeFS) Open(name string) (fs.File, error) {
	if name == "big.yaml" {
		f.t.Errorf("big.yaml was opened")
	}
	return f.MapFS.Open(name)
}

func (f hugeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := f.MapFS.ReadDir(name)
	for i, e := range entries {
		if e.Name() == "big.yaml" {
			info, _ := e.Info()
			entries[i] = fs.FileInfoToDirEntry(hugeInfo{info})
		}
	}
	return entries, err
}

type hugeInfo struct{ fs.FileInfo }

func (hugeInfo) Size() int64 { return 1 << 40 }

// TestFileTooLargeNotRead shows that a file over the limit is refused by its
// size, without being read.
func TestFileTooLargeNotRead(t *testing.T) {
	_, err := LoadFS(hugeFS{MapFS: fstest.MapFS{"big.yaml": {Data: []byte("x: y\n")}}, t: t}, Options{})
	want := "big.yaml: file too large: 1099511627776 bytes, the limit is 10485760 (10 MiB)"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFS error = %v, want %s", err, want)
	}
}
