package runtime

import (
	"context"
	"fmt"
	"os"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
)

// NormalizeImage returns the full name containerd keeps an image under, as
// Kubernetes resolves a pod's image: "app" is "docker.io/library/app:latest".
// An unparsable reference gives an error wrapping ErrInvalidImageName.
func NormalizeImage(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidImageName, ref, err)
	}
	return named.String(), nil
}

// ImportImages implements Runtime.
func (c *Containerd) ImportImages(ctx context.Context, tarPath string) ([]string, error) {
	ctx = c.withNS(ctx)
	f, err := os.Open(tarPath)
	if err != nil {
		return nil, fmt.Errorf("import images: %w", err)
	}
	defer f.Close()
	imgs, err := c.client.Import(ctx, f,
		// An OCI layout names its images in org.opencontainers.image.ref.name,
		// often without the registry: normalize as for a pod's image.
		containerd.WithImageRefTranslator(func(name string) string {
			if full, err := NormalizeImage(name); err == nil {
				return full
			}
			return name
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("import images from %s: %w", tarPath, err)
	}
	names := make([]string, 0, len(imgs))
	for _, img := range imgs {
		image := containerd.NewImage(c.client, img)
		if err := image.Unpack(ctx, c.snapshotter); err != nil {
			return nil, fmt.Errorf("import images from %s: unpack %s: %w", tarPath, img.Name, err)
		}
		names = append(names, img.Name)
	}
	return names, nil
}

// EnsureImage implements Runtime.
func (c *Containerd) EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy) (string, error) {
	ctx = c.withNS(ctx)
	name, err := NormalizeImage(ref)
	if err != nil {
		return "", err
	}
	switch policy {
	case corev1.PullNever, corev1.PullIfNotPresent, "":
		image, err := c.client.GetImage(ctx, name)
		switch {
		case err == nil:
			return c.readyImage(ctx, image)
		case !errdefs.IsNotFound(err):
			return "", fmt.Errorf("look up image %s: %w", name, err)
		case policy == corev1.PullNever:
			return "", fmt.Errorf("%w: %s, and imagePullPolicy is Never", ErrImageNotPresent, ref)
		}
	case corev1.PullAlways:
	default:
		return "", fmt.Errorf("image %s: unknown pull policy %q", ref, policy)
	}
	image, err := c.client.Pull(ctx, name,
		containerd.WithResolver(c.resolver),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(c.snapshotter),
	)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrImagePull, ref, err)
	}
	return imageID(ctx, image)
}

// readyImage unpacks image if it is not yet and returns its ID.
func (c *Containerd) readyImage(ctx context.Context, image containerd.Image) (string, error) {
	unpacked, err := image.IsUnpacked(ctx, c.snapshotter)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", image.Name(), err)
	}
	if !unpacked {
		if err := image.Unpack(ctx, c.snapshotter); err != nil {
			return "", fmt.Errorf("unpack image %s: %w", image.Name(), err)
		}
	}
	return imageID(ctx, image)
}

// imageID is the digest of image's config for this platform, as CRI
// runtimes report an image's ID.
func imageID(ctx context.Context, image containerd.Image) (string, error) {
	cfg, err := image.Config(ctx)
	if err != nil {
		return "", fmt.Errorf("image %s: config: %w", image.Name(), err)
	}
	return cfg.Digest.String(), nil
}

// getImage returns the image a container spec names, unpacked.
func (c *Containerd) getImage(ctx context.Context, ref string) (containerd.Image, string, error) {
	name, err := NormalizeImage(ref)
	if err != nil {
		return nil, "", err
	}
	image, err := c.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		return nil, "", fmt.Errorf("%w: %s", ErrImageNotPresent, ref)
	}
	if err != nil {
		return nil, "", fmt.Errorf("look up image %s: %w", name, err)
	}
	id, err := c.readyImage(ctx, image)
	if err != nil {
		return nil, "", err
	}
	return image, id, nil
}
