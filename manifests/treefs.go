package manifests

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFS is a read-only fs.FS over the tree of a git commit. Blobs are read
// from the object store when a file is read, never checked out. Symbolic links
// are reported as such and not followed; submodules show up as irregular files.
type treeFS struct {
	root *object.Tree
}

var (
	_ fs.ReadDirFS = treeFS{}
	_ fs.StatFS    = treeFS{}
)

// Open opens the file or directory name.
func (t treeFS) Open(name string) (fs.File, error) {
	info, err := t.stat("open", name)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return &treeDir{fsys: t, name: name, info: info}, nil
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	}
	f, err := t.root.File(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	r, err := f.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{ReadCloser: r, info: info}, nil
}

// Stat describes the file or directory name.
func (t treeFS) Stat(name string) (fs.FileInfo, error) {
	return t.stat("stat", name)
}

// ReadDir lists the directory name, sorted by file name.
func (t treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	tree := t.root
	if name != "." {
		info, err := t.stat("readdir", name)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
		}
		if tree, err = t.root.Tree(name); err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
	}
	entries := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		entries = append(entries, fs.FileInfoToDirEntry(&treeInfo{tree: tree, entry: e}))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

// stat finds name in the tree; op names the operation in errors.
func (t treeFS) stat(op, name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &treeInfo{entry: object.TreeEntry{Name: ".", Mode: filemode.Dir}}, nil
	}
	dir, base := path.Split(name)
	tree := t.root
	if dir != "" {
		var err error
		if tree, err = t.root.Tree(path.Clean(dir)); err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
	}
	for _, e := range tree.Entries {
		if e.Name == base {
			return &treeInfo{tree: tree, entry: e}, nil
		}
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// treeInfo describes one tree entry. The size of a blob is looked up when asked for.
type treeInfo struct {
	tree  *object.Tree // holding the entry; nil for the root
	entry object.TreeEntry
}

func (i *treeInfo) Name() string       { return i.entry.Name }
func (i *treeInfo) ModTime() time.Time { return time.Time{} }
func (i *treeInfo) IsDir() bool        { return i.entry.Mode == filemode.Dir }
func (i *treeInfo) Sys() any           { return nil }

// Size returns the blob's size, read from the object header; 0 for anything else.
func (i *treeInfo) Size() int64 {
	if !i.Mode().IsRegular() || i.tree == nil {
		return 0
	}
	n, err := i.tree.Size(i.entry.Name)
	if err != nil {
		return 0
	}
	return n
}

// Mode maps git's file modes to fs.FileMode.
func (i *treeInfo) Mode() fs.FileMode {
	switch i.entry.Mode {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o555
	case filemode.Regular, filemode.Deprecated:
		return 0o444
	default: // submodules
		return fs.ModeIrregular
	}
}

// treeFile is an open blob.
type treeFile struct {
	io.ReadCloser
	info fs.FileInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

// treeDir is an open directory of the tree.
type treeDir struct {
	fsys    treeFS
	name    string
	info    fs.FileInfo
	entries []fs.DirEntry // nil until the first ReadDir
	read    bool
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }

func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

// ReadDir returns the next n entries (all of them when n <= 0).
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		entries, err := d.fsys.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = entries, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
