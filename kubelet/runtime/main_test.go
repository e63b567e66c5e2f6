package runtime_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// testImage is the name the test image is imported under.
const testImage = "berth.test/testprog:v1"

// Built once by TestMain for the containerd tests; empty when they will be
// skipped (not root, containerd missing).
var (
	berthBinary  string // the berth binary, the log driver
	imageTarball string // testImage holding testdata/testprog
	buildErr     error  // why the above could not be built
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() == 0 && runtime.CheckBinaries() == nil {
		dir, err := os.MkdirTemp("", "berth-runtime-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		buildErr = buildTestFiles(dir)
	}
	return m.Run()
}

// buildTestFiles builds the berth binary and the test image into dir.
func buildTestFiles(dir string) error {
	berth := filepath.Join(dir, "berth")
	if out, err := goBuild(berth, "github.com/berth-dev/berth/cmd/berth"); err != nil {
		return fmt.Errorf("build berth: %v\n%s", err, out)
	}
	prog := filepath.Join(dir, "testprog")
	if out, err := goBuild(prog, "./testdata/testprog"); err != nil {
		return fmt.Errorf("build testprog: %v\n%s", err, out)
	}
	tarPath := filepath.Join(dir, "testprog.tar")
	if err := writeTestImage(tarPath, prog); err != nil {
		return fmt.Errorf("build test image: %w", err)
	}
	berthBinary, imageTarball = berth, tarPath
	return nil
}

// goBuild builds a static binary of pkg at out.
func goBuild(out, pkg string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd.CombinedOutput()
}

// writeTestImage writes a Docker image tarball of testImage: prog as
// /testprog, the entrypoint, with "sleep" as the command.
func writeTestImage(tarPath, prog string) error {
	data, err := os.ReadFile(prog)
	if err != nil {
		return err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777, ModTime: mtime},
		{Name: "testprog", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data)), ModTime: mtime},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer.Bytes())), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS:           "linux",
		Architecture: goruntime.GOARCH,
		Config: v1.Config{
			Entrypoint: []string{"/testprog"},
			Cmd:        []string{"sleep"},
			Env:        []string{"PATH=/", "FROM_IMAGE=yes"},
			WorkingDir: "/",
		},
	})
	if err != nil {
		return err
	}
	img, err = mutate.AppendLayers(img, l)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(testImage)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(tarPath, tag, img)
}
