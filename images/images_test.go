package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// needBusybox skips the test when the machine has no static busybox, or
// fails it when CI=true (CI installs busybox-static).
func needBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(defaultBusybox); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: %s (CI=true, so not skipping)", defaultBusybox, installBusybox)
		}
		t.Skipf("%s missing: %s", defaultBusybox, installBusybox)
	}
}

// buildInto builds the named images (all when none) into out, as
// `go run ./images -out out` does, and returns them by short name.
func buildInto(t *testing.T, out string, names ...string) map[string]built {
	t.Helper()
	selected, err := selectImages(names)
	if err != nil {
		t.Fatal(err)
	}
	o := options{out: out, helloVersion: "v1", busybox: defaultBusybox}
	res := map[string]built{}
	for _, im := range selected {
		b, err := buildImage(context.Background(), im, o)
		if err != nil {
			t.Fatalf("build image %s: %v", im.name, err)
		}
		res[im.name] = b
	}
	return res
}

// shared holds the images the tests build once and only read.
var shared struct {
	mu     sync.Mutex // guards the fields below
	dir    string     // removed by TestMain
	images map[string]built
}

// sharedImage is the image name, built on first use into a directory the
// tests share. Tests must not change the tarball.
func sharedImage(t *testing.T, name string) built {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if b, ok := shared.images[name]; ok {
		return b
	}
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "berth-images-test-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
		shared.images = map[string]built{}
	}
	b := buildInto(t, shared.dir, name)[name]
	shared.images[name] = b
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// fsEntry is a file of an image's flattened file system.
type fsEntry struct {
	hdr  *tar.Header
	data []byte
}

// imageFiles reads the tarball at b.path as go-containerregistry's tarball
// package does (through manifest.json) and returns its config and files.
func imageFiles(t *testing.T, b built) (*v1.ConfigFile, map[string]fsEntry) {
	t.Helper()
	tag, err := name.NewTag(b.ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(b.path, &tag)
	if err != nil {
		t.Fatalf("tarball.ImageFromPath(%s): %v", b.path, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("%s: config: %v", b.path, err)
	}
	if id, err := img.ConfigName(); err != nil || id != b.id {
		t.Errorf("%s: config digest %v (err %v), the tool said %s", b.path, id, err, b.id)
	}
	files := map[string]fsEntry{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: read file system: %v", b.path, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: read %s: %v", b.path, hdr.Name, err)
		}
		files[strings.TrimSuffix(hdr.Name, "/")] = fsEntry{hdr: hdr, data: data}
	}
	return cf, files
}

// checkCommon checks what both images share: platform, fixed time, /tmp,
// root and nobody.
func checkCommon(t *testing.T, cf *v1.ConfigFile, files map[string]fsEntry) {
	t.Helper()
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if !cf.Created.Time.Equal(epoch) {
		t.Errorf("created %v, want %v", cf.Created.Time, epoch)
	}
	if tmp, ok := files["tmp"]; !ok || tmp.hdr.Typeflag != tar.TypeDir || tmp.hdr.Mode != 0o1777 {
		t.Errorf("/tmp: %+v, want a directory with mode 1777", tmp.hdr)
	}
	for file, want := range map[string]string{
		"etc/passwd": "nobody:x:65534:65534:",
		"etc/group":  "nobody:x:65534:",
	} {
		if !strings.Contains(string(files[file].data), want) || !strings.HasPrefix(string(files[file].data), "root:x:0:") {
			t.Errorf("/%s = %q, want root first and a line starting %q", file, files[file].data, want)
		}
	}
}

func TestHelloImage(t *testing.T) {
	b := sharedImage(t, "hello")
	cf, files := imageFiles(t, b)
	checkCommon(t, cf, files)

	if diff := cmp.Diff([]string{"/hello"}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PATH=/"}, cf.Config.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", cf.Config.ExposedPorts)
	}

	hello, ok := files["hello"]
	if !ok {
		t.Fatalf("no /hello in the image")
	}
	if hello.hdr.Typeflag != tar.TypeReg || hello.hdr.Mode != 0o755 || hello.hdr.Uid != 0 {
		t.Errorf("/hello: type %q mode %o uid %d, want a root-owned file with mode 755", hello.hdr.Typeflag, hello.hdr.Mode, hello.hdr.Uid)
	}
	f, err := elf.NewFile(bytes.NewReader(hello.data))
	if err != nil {
		t.Fatalf("/hello is not ELF: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		t.Errorf("/hello: ELF type %v, want %v (static, not position independent)", f.Type, elf.ET_EXEC)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/hello has a program interpreter: not static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("/hello has a symbol table: not built with -s")
	}
}

func TestTestboxImage(t *testing.T) {
	needBusybox(t)
	b := sharedImage(t, "testbox")
	cf, files := imageFiles(t, b)
	checkCommon(t, cf, files)

	if diff := cmp.Diff([]string{"sh"}, cf.Config.Cmd); diff != "" {
		t.Errorf("cmd (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PATH=/bin"}, cf.Config.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	bb, ok := files["bin/busybox"]
	if !ok {
		t.Fatalf("no /bin/busybox in the image")
	}
	if err := checkStatic(bb.data); err != nil {
		t.Errorf("/bin/busybox: %v", err)
	}
	if bb.hdr.Mode != 0o755 {
		t.Errorf("/bin/busybox: mode %o, want 755", bb.hdr.Mode)
	}
	for _, applet := range append([]string{"["}, requiredApplets...) {
		e, ok := files["bin/"+applet]
		if !ok {
			t.Errorf("no /bin/%s", applet)
			continue
		}
		if e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "busybox" {
			t.Errorf("/bin/%s: type %q -> %q, want a symlink to busybox", applet, e.hdr.Typeflag, e.hdr.Linkname)
		}
	}
}

// TestArchiveIsAnOCILayout reads the tarballs as an OCI image layout, the
// way containerd does: one manifest, named by its annotations, whose digest
// is the one the tool printed, and whose blobs all verify.
func TestArchiveIsAnOCILayout(t *testing.T) {
	needBusybox(t)
	for _, n := range []string{"hello", "testbox"} {
		b := sharedImage(t, n)
		t.Run(b.name, func(t *testing.T) {
			dir := untar(t, b.path)
			idx, err := layout.ImageIndexFromPath(dir)
			if err != nil {
				t.Fatalf("read OCI layout: %v", err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatalf("index.json: %v", err)
			}
			if len(im.Manifests) != 1 {
				t.Fatalf("index.json has %d manifests, want 1", len(im.Manifests))
			}
			d := im.Manifests[0]
			if d.Digest != b.digest {
				t.Errorf("index.json names manifest %s, the tool said %s", d.Digest, b.digest)
			}
			wantAnn := map[string]string{annotationImageName: b.ref, annotationRefName: "latest"}
			if diff := cmp.Diff(wantAnn, d.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != runtime.GOARCH {
				t.Errorf("platform %+v, want linux/%s", d.Platform, runtime.GOARCH)
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatalf("image %s: %v", d.Digest, err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("validate image: %v", err)
			}
		})
	}
}

// untar unpacks the archive at path into a new directory.
func untar(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			t.Fatalf("%s: entry %q leaves the directory", path, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(dst, data, 0o644)
			}
		default:
			t.Fatalf("%s: unexpected entry %q of type %q", path, hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			t.Fatalf("unpack %s: %v", hdr.Name, err)
		}
	}
}

// TestBuildIsReproducible builds every image twice and expects the same
// digests and byte-identical tarballs.
func TestBuildIsReproducible(t *testing.T) {
	needBusybox(t)
	second := buildInto(t, t.TempDir())
	for n, b := range second {
		a := sharedImage(t, n)
		if a.digest != b.digest || a.id != b.id {
			t.Errorf("%s: digest %s id %s, then digest %s id %s", n, a.digest, a.id, b.digest, b.id)
		}
		if fileSum(t, a.path) != fileSum(t, b.path) {
			t.Errorf("%s: the two tarballs differ", n)
		}
	}
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}
