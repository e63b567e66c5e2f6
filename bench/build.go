package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// buildBerth builds bin/berth into dir (the node figures run it as a separate
// process, as a user does) and the named test images (hello, testbox) as
// tarballs into imagesDir, where a kubelet imports them at start. It returns
// the binary's path.
func buildBerth(ctx context.Context, dir, imagesDir string, images ...string) (string, error) {
	bin := filepath.Join(dir, "berth")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/berth").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %w\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "go", "run", "./images", "-out", imagesDir, "-only", strings.Join(images, ",")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go run ./images: %w\n%s", err, out)
	}
	return bin, nil
}
