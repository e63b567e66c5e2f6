package main

import (
	"fmt"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every time stamp in the images: the created time of the config
// and its history, and the modification time of every file.
var epoch = time.Unix(0, 0).UTC()

// baseEntries are what both images hold besides their program: a
// world-writable /tmp and the users root and nobody, so that an image runs
// under any runAsUser and programs that look up their user find one.
func baseEntries() []entry {
	return []entry{
		dir("etc", 0o755),
		file("etc/passwd", 0o644, []byte(
			"root:x:0:0:root:/root:/bin/sh\n"+
				"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")),
		file("etc/group", 0o644, []byte(
			"root:x:0:\n"+
				"nobody:x:65534:\n")),
		dir("root", 0o700),
		dir("tmp", 0o1777),
	}
}

// newImage is a linux image of the build machine's architecture with one
// layer made of entries and the run configuration cfg. createdBy goes into
// the config's history, as a Dockerfile's RUN line would.
func newImage(entries []entry, cfg v1.Config, createdBy string) (v1.Image, error) {
	layer, err := newLayer(entries)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: createdBy,
			Comment:   "built by berth's images tool",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add layer: %w", err)
	}
	return img, nil
}
