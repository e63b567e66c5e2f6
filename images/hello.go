package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// helloPackage is the demo's web server, built into the hello image.
const helloPackage = "github.com/berth-dev/berth/examples/apps/hello"

// buildHello compiles helloPackage as a static linux binary stamped with
// version and returns its bytes. It runs the go command on PATH in the
// current directory, which must be inside berth's module (as it is for `go
// run ./images` from the repository and for the tests). GOFLAGS from the
// environment is ignored so that the binary depends only on the source.
func buildHello(ctx context.Context, version string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "berth-images-hello-")
	if err != nil {
		return nil, fmt.Errorf("build hello: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "hello")

	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, helloPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build hello: go build %s: %w: %s", helloPackage, err, strings.TrimSpace(stderr.String()))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build hello: %w", err)
	}
	return bin, nil
}

// helloImage is berth.dev/hello: bin as /hello, listening on 8080.
func helloImage(bin []byte, version string) (v1.Image, error) {
	entries := append(baseEntries(), file("hello", 0o755, bin))
	cfg := v1.Config{
		Entrypoint:   []string{"/hello"},
		Env:          []string{"PATH=/"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		WorkingDir:   "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":   "hello",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  helloPackage,
		},
	}
	img, err := newImage(entries, cfg, "CGO_ENABLED=0 go build -trimpath -ldflags '-s -w -X main.version="+version+"' "+helloPackage)
	if err != nil {
		return nil, fmt.Errorf("hello image: %w", err)
	}
	return img, nil
}
