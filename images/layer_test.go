package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLayerTar(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    []string // "name mode type [-> target]" per tar entry, in order
		wantErr string
	}{
		{
			name: "sorted, directories first, fixed owner",
			entries: []entry{
				symlink("bin/sh", "busybox"),
				file("bin/busybox", 0o755, []byte("elf")),
				dir("tmp", 0o1777),
				dir("bin", 0o755),
			},
			want: []string{
				"bin/ 755 dir",
				"bin/busybox 755 reg",
				"bin/sh 777 symlink -> busybox",
				"tmp/ 1777 dir",
			},
		},
		{name: "absolute path", entries: []entry{dir("/bin", 0o755)}, wantErr: `"/bin": not a clean relative path`},
		{name: "unclean path", entries: []entry{dir("bin/../etc", 0o755)}, wantErr: "not a clean relative path"},
		{name: "escaping path", entries: []entry{dir("..", 0o755)}, wantErr: "not a clean relative path"},
		{name: "duplicate", entries: []entry{dir("bin", 0o755), dir("bin", 0o755)}, wantErr: `"bin": listed twice`},
		{name: "missing directory", entries: []entry{file("etc/passwd", 0o644, nil)}, wantErr: `directory "etc" is not in the layer`},
		{name: "symlink without target", entries: []entry{symlink("sh", "")}, wantErr: "symlink without a target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := layerTar(tt.entries)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("layerTar: err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("layerTar: %v", err)
			}
			got := listTar(t, raw)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("layer entries (-want +got):\n%s", diff)
			}
		})
	}
}

// listTar describes each entry of the tar raw as "name mode type [-> target]"
// and checks the metadata every layer entry must have.
func listTar(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read layer tar: %v", err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s: uid %d gid %d mtime %v, want 0 0 %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.ModTime, epoch)
		}
		kind := map[byte]string{tar.TypeDir: "dir", tar.TypeReg: "reg", tar.TypeSymlink: "symlink"}[hdr.Typeflag]
		line := hdr.Name + " " + strconv.FormatInt(hdr.Mode, 8) + " " + kind
		if hdr.Linkname != "" {
			line += " -> " + hdr.Linkname
		}
		out = append(out, line)
	}
}

func TestLayerTarIsReproducible(t *testing.T) {
	entries := append(baseEntries(), file("hello", 0o755, []byte("binary")))
	a, err := newLayer(entries)
	if err != nil {
		t.Fatalf("newLayer: %v", err)
	}
	// The same entries in another order give the same layer.
	reversed := make([]entry, len(entries))
	for i, e := range entries {
		reversed[len(entries)-1-i] = e
	}
	b, err := newLayer(reversed)
	if err != nil {
		t.Fatalf("newLayer: %v", err)
	}
	da, err := a.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	if da != db {
		t.Errorf("layer digests differ for the same entries: %s and %s", da, db)
	}
}
