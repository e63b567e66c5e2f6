package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations on the index entry that name the image. containerd (ctr
// images import and the client's Import) names an image from
// annotationImageName; the OCI annotation carries only the tag, as the
// image-spec asks.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// writeArchive writes img, called ref, to the file path (see archiveTo),
// through a temporary file in the same directory so that a reader never
// sees half an archive.
func writeArchive(path string, ref name.Tag, img v1.Image) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := archiveTo(f, ref, img); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// archiveTo writes img as a tar holding an OCI image layout (oci-layout,
// index.json, blobs/sha256/...) whose index entry carries the name ref in
// the annotations above, plus Docker's manifest.json pointing at the same
// blobs with RepoTags [ref]. containerd reads the OCI layout (keeping the
// manifest digest the tool printed); docker load and go-containerregistry's
// tarball package read manifest.json. Every entry has fixed metadata, so
// the archive's bytes depend only on the image.
func archiveTo(w io.Writer, ref name.Tag, img v1.Image) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return fmt.Errorf("image media type: %w", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	configName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("image config digest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("image layers: %w", err)
	}

	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(archiveHeader(name, int64(len(data)))); err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		return nil
	}

	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		hdr := archiveHeader(d, 0)
		hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %w", d, err)
		}
	}
	if err := put(blobPath(configName), config); err != nil {
		return err
	}
	var layerPaths []string
	for i, l := range layers {
		p, err := putLayer(tw, l)
		if err != nil {
			return fmt.Errorf("archive layer %d: %w", i, err)
		}
		layerPaths = append(layerPaths, p)
	}
	if err := put(blobPath(digest), manifest); err != nil {
		return err
	}

	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: mediaType,
			Digest:    digest,
			Size:      int64(len(manifest)),
			Platform:  &v1.Platform{OS: cf.OS, Architecture: cf.Architecture},
			Annotations: map[string]string{
				annotationImageName: ref.Name(),
				annotationRefName:   ref.TagStr(),
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	if err := put("index.json", index); err != nil {
		return err
	}

	docker, err := json.Marshal([]dockerManifest{{
		Config:   blobPath(configName),
		RepoTags: []string{ref.Name()},
		Layers:   layerPaths,
	}})
	if err != nil {
		return fmt.Errorf("encode manifest.json: %w", err)
	}
	if err := put("manifest.json", docker); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// putLayer copies the compressed layer l into tw and returns its path.
func putLayer(tw *tar.Writer, l v1.Layer) (string, error) {
	digest, err := l.Digest()
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	size, err := l.Size()
	if err != nil {
		return "", fmt.Errorf("size: %w", err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	p := blobPath(digest)
	if err := tw.WriteHeader(archiveHeader(p, size)); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if _, err := io.Copy(tw, rc); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return p, nil
}

// blobPath is where the OCI layout keeps the blob with digest h.
func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// archiveHeader is the header of a regular file in the archive.
func archiveHeader(name string, size int64) *tar.Header {
	return &tar.Header{
		Name:     name,
		Typeflag: tar.TypeReg,
		Mode:     0o644,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}
