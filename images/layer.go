package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file system object in a layer.
type entry struct {
	path   string // inside the image, relative, without a leading slash: "bin/busybox"
	kind   byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode   int64  // permission bits, with the sticky bit where wanted
	data   []byte // contents of a regular file
	target string // where a symlink points
}

// dir is a directory entry.
func dir(p string, mode int64) entry { return entry{path: p, kind: tar.TypeDir, mode: mode} }

// file is a regular file entry.
func file(p string, mode int64, data []byte) entry {
	return entry{path: p, kind: tar.TypeReg, mode: mode, data: data}
}

// symlink is a symbolic link entry.
func symlink(p, target string) entry {
	return entry{path: p, kind: tar.TypeSymlink, mode: 0o777, target: target}
}

// layerTar writes entries as an uncompressed layer tar that depends on
// nothing but the entries: sorted by path (so a directory precedes what is
// in it), owned by root, every time stamp at epoch. A path that is not
// clean and relative, a duplicate, or an entry whose directory is not in
// the list is an error.
func layerTar(entries []entry) ([]byte, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })

	dirs := map[string]bool{".": true}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range sorted {
		if e.path == "" || path.IsAbs(e.path) || path.Clean(e.path) != e.path || strings.HasPrefix(e.path, "../") || e.path == ".." {
			return nil, fmt.Errorf("layer entry %q: not a clean relative path", e.path)
		}
		if i > 0 && sorted[i-1].path == e.path {
			return nil, fmt.Errorf("layer entry %q: listed twice", e.path)
		}
		if parent := path.Dir(e.path); !dirs[parent] {
			return nil, fmt.Errorf("layer entry %q: its directory %q is not in the layer", e.path, parent)
		}
		hdr := &tar.Header{
			Name:     e.path,
			Typeflag: e.kind,
			Mode:     e.mode,
			ModTime:  epoch,
			Uname:    "root",
			Gname:    "root",
			Format:   tar.FormatPAX,
		}
		switch e.kind {
		case tar.TypeDir:
			hdr.Name += "/"
			dirs[e.path] = true
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		case tar.TypeSymlink:
			if e.target == "" {
				return nil, fmt.Errorf("layer entry %q: symlink without a target", e.path)
			}
			hdr.Linkname = e.target
		default:
			return nil, fmt.Errorf("layer entry %q: unsupported type %q", e.path, e.kind)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %q: write header: %w", e.path, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer entry %q: write contents: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer tar: %w", err)
	}
	return buf.Bytes(), nil
}

// newLayer is entries as a gzipped OCI layer. Go's gzip writes the same
// bytes for the same input, so the layer digest is reproducible too.
func newLayer(entries []entry) (v1.Layer, error) {
	raw, err := layerTar(entries)
	if err != nil {
		return nil, err
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	l, err := tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("make layer: %w", err)
	}
	return l, nil
}
