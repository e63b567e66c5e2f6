package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// options are the command's flags.
type options struct {
	out          string   // directory the tarballs go to
	only         []string // image names to build; all when empty
	helloVersion string   // version linked into the hello binary
	busybox      string   // the static busybox for testbox
}

// image is one image the tool builds.
type image struct {
	name  string // short name: the file is <name>.tar, -only selects by it
	ref   string // the image reference containerd will know it by
	build func(ctx context.Context, o options) (v1.Image, error)
}

// allImages are the images, in the order they are built.
var allImages = []image{
	{name: "hello", ref: "berth.dev/hello:latest", build: buildHelloImage},
	{name: "testbox", ref: "berth.dev/testbox:latest", build: buildTestboxImage},
}

func buildHelloImage(ctx context.Context, o options) (v1.Image, error) {
	bin, err := buildHello(ctx, o.helloVersion)
	if err != nil {
		return nil, err
	}
	return helloImage(bin, o.helloVersion)
}

func buildTestboxImage(ctx context.Context, o options) (v1.Image, error) {
	bin, applets, err := readBusybox(ctx, o.busybox)
	if err != nil {
		return nil, err
	}
	return testboxImage(bin, applets)
}

func main() {
	o := options{}
	var only string
	flag.StringVar(&o.out, "out", "bin/images", "directory to write the image tarballs to")
	flag.StringVar(&only, "only", "", "comma-separated images to build (hello, testbox); default all")
	flag.StringVar(&o.helloVersion, "hello-version", "v1", "version the hello server reports")
	flag.StringVar(&o.busybox, "busybox", defaultBusybox, "the static busybox to put in testbox")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "images: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if only != "" {
		o.only = strings.Split(only, ",")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

// built is an image written to a tarball.
type built struct {
	name   string  // short name, as in allImages
	ref    string  // the name containerd gives it on import
	digest v1.Hash // manifest digest, kept by containerd on import
	id     v1.Hash // config digest: the image ID
	path   string  // the tarball
}

// run builds the images o asks for into o.out and prints, for each, its
// reference, manifest digest, image ID (config digest) and file.
func run(ctx context.Context, o options, stdout io.Writer) error {
	selected, err := selectImages(o.only)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, im := range selected {
		b, err := buildImage(ctx, im, o)
		if err != nil {
			return fmt.Errorf("image %s: %w", im.name, err)
		}
		fmt.Fprintf(stdout, "%s  digest %s  id %s  %s\n", b.ref, b.digest, b.id, b.path)
	}
	return nil
}

// buildImage builds im and writes it to o.out/<name>.tar.
func buildImage(ctx context.Context, im image, o options) (built, error) {
	ref, err := name.NewTag(im.ref, name.StrictValidation)
	if err != nil {
		return built{}, fmt.Errorf("reference %q: %w", im.ref, err)
	}
	img, err := im.build(ctx, o)
	if err != nil {
		return built{}, err
	}
	b := built{name: im.name, ref: ref.Name(), path: filepath.Join(o.out, im.name+".tar")}
	if b.digest, err = img.Digest(); err != nil {
		return built{}, fmt.Errorf("digest: %w", err)
	}
	if b.id, err = img.ConfigName(); err != nil {
		return built{}, fmt.Errorf("config digest: %w", err)
	}
	if err := writeArchive(b.path, ref, img); err != nil {
		return built{}, err
	}
	return b, nil
}

// selectImages returns the images named in only, in build order, or all of
// them when only is empty. An unknown name is an error.
func selectImages(only []string) ([]image, error) {
	if len(only) == 0 {
		return allImages, nil
	}
	want := map[string]bool{}
	for _, n := range only {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		known := false
		for _, im := range allImages {
			known = known || im.name == n
		}
		if !known {
			return nil, fmt.Errorf("-only: unknown image %q (known: %s)", n, knownNames())
		}
		want[n] = true
	}
	var out []image
	for _, im := range allImages {
		if want[im.name] {
			out = append(out, im)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only: no image named (known: %s)", knownNames())
	}
	return out, nil
}

// knownNames lists the images' short names.
func knownNames() string {
	var names []string
	for _, im := range allImages {
		names = append(names, im.name)
	}
	return strings.Join(names, ", ")
}
