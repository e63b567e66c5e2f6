package manifests

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/berth-dev/berth/apiserver/registry"
)

// MaxFileSize is the largest manifest file loaded; larger ones are an error
// and are not read.
const MaxFileSize = 10 << 20

// ignoreFile is the name of the file, at the root of Options.Path, listing
// paths to leave out in gitignore syntax.
const ignoreFile = ".berthignore"

// Options say which part of a tree to load and what the cluster already has.
type Options struct {
	// Path is the directory inside the repository holding the manifests
	// ("" or "." for the root).
	Path string
	// KnownNamespaces reports the namespaces present in the cluster; objects may
	// be placed in those and in the Namespaces the tree declares (nil: none).
	KnownNamespaces func(name string) bool
	// DefaultNamespace is given to namespaced objects without one (default "default").
	DefaultNamespace string
	// Cache, when set, keeps decoded files between Loads (see Cache).
	Cache *Cache
}

// Load reads every .yaml, .yml and .json file under opts.Path in the tree of
// commit, straight from the repository's objects (nothing is checked out), and
// returns the objects they declare sorted by file, then line.
//
// When any manifest is bad, Load returns no objects and an Errors holding every
// problem of the tree. Other errors (the commit or path cannot be read) are
// returned wrapped.
func Load(repo *git.Repository, commit plumbing.Hash, opts Options) ([]*Object, error) {
	c, err := repo.CommitObject(commit)
	if err != nil {
		return nil, fmt.Errorf("load manifests: read commit %s: %w", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("load manifests: read tree of commit %s: %w", commit, err)
	}
	return LoadFS(treeFS{root: tree}, opts)
}

// LoadFS is Load for a file system whose root is the repository's root, such as
// os.DirFS of a work tree. Paths in objects and errors are relative to fsys.
func LoadFS(fsys fs.FS, opts Options) ([]*Object, error) {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	root, err := cleanPath(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("load manifests: %w", err)
	}
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("load manifests: path %q: %w", opts.Path, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("load manifests: path %q is not a directory", opts.Path)
	}
	l := &loader{fsys: fsys, opts: opts, root: root, kinds: registry.All()}
	if err := l.readIgnore(); err != nil {
		return nil, err
	}
	if err := l.walk(); err != nil {
		return nil, fmt.Errorf("load manifests: %w", err)
	}
	if opts.Cache != nil {
		opts.Cache.sweep()
	}
	l.renderKustomizations()
	sort.SliceStable(l.objs, func(i, j int) bool {
		a, b := l.objs[i], l.objs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	l.checkObjects()
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	objs := make([]*Object, len(l.objs))
	for i, o := range l.objs {
		objs[i] = o.Object
	}
	return objs, nil
}

// cleanPath turns Options.Path into a path of fs.FS: "." for the root.
func cleanPath(p string) (string, error) {
	p = path.Clean("/" + strings.TrimSpace(p))[1:]
	if p == "" {
		return ".", nil
	}
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("invalid path %q", p)
	}
	return p, nil
}

// loader holds the state of one LoadFS call.
type loader struct {
	fsys   fs.FS
	opts   Options
	root   string // opts.Path, cleaned
	kinds  []*registry.Kind
	ignore gitignore.Matcher
	// kustomizations are the directories holding a kustomization file, in walk order.
	kustomizations []string
	objs           []*loaded
	errs           Errors
}

// loaded is an object with the document it came from.
type loaded struct {
	*Object
	doc *document
}

// add records an error.
func (l *loader) add(file string, line int, object, field, message string) {
	l.errs = append(l.errs, &Error{File: file, Line: line, Object: object, Field: field, Message: message})
}

// readIgnore reads .berthignore at the root, if there is one.
func (l *loader) readIgnore() error {
	name := path.Join(l.root, ignoreFile)
	data, err := fs.ReadFile(l.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load manifests: read %s: %w", name, err)
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	l.ignore = gitignore.NewMatcher(ps)
	return nil
}

// ignored reports whether .berthignore leaves out p, a path under the root.
func (l *loader) ignored(p string, isDir bool) bool {
	if l.ignore == nil || p == l.root {
		return false
	}
	rel := p
	if l.root != "." {
		rel = strings.TrimPrefix(p, l.root+"/")
	}
	return l.ignore.Match(strings.Split(rel, "/"), isDir)
}

// walk loads every manifest file under the root, and notes the kustomization
// directories, whose files are not loaded on their own.
func (l *loader) walk() error {
	return fs.WalkDir(l.fsys, l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == l.root {
				return err
			}
			// An unreadable entry is the revision's problem, not a reason to stop.
			l.add(p, 0, "", "", fmt.Sprintf("read: %v", err))
			return fs.SkipDir
		}
		hidden := p != l.root && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden || l.ignored(p, true) {
				return fs.SkipDir
			}
			if kustomizationFile(l.fsys, p) != "" {
				l.kustomizations = append(l.kustomizations, p)
				return fs.SkipDir
			}
			return nil
		}
		if hidden || !isManifest(p) || l.ignored(p, false) {
			return nil
		}
		if !d.Type().IsRegular() {
			l.add(p, 0, "", "", "not a regular file (symbolic links are not followed)")
			return nil
		}
		data, ok := l.readFile(p, d)
		if !ok {
			return nil
		}
		var key cacheKey
		if c := l.opts.Cache; c != nil {
			key = cacheKey{path: p, sum: sha256.Sum256(data), namespace: l.opts.DefaultNamespace}
			if f, ok := c.get(key); ok {
				l.objs = append(l.objs, f.objs...)
				l.errs = append(l.errs, f.errs...)
				return nil
			}
		}
		nobjs, nerrs := len(l.objs), len(l.errs)
		if strings.EqualFold(path.Ext(p), ".json") {
			l.loadJSON(p, data)
		} else {
			l.loadYAML(p, data)
		}
		if c := l.opts.Cache; c != nil {
			c.put(key, cachedFile{objs: append([]*loaded(nil), l.objs[nobjs:]...), errs: append(Errors(nil), l.errs[nerrs:]...)})
		}
		return nil
	})
}

// isManifest reports a file name ending in .yaml, .yml or .json.
func isManifest(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// readFile reads a manifest file of at most MaxFileSize bytes; larger files are
// an error and are not read.
func (l *loader) readFile(p string, d fs.DirEntry) ([]byte, bool) {
	if info, err := d.Info(); err == nil && info.Size() > MaxFileSize {
		l.add(p, 0, "", "", tooLarge(info.Size()))
		return nil, false
	}
	f, err := l.fsys.Open(p)
	if err != nil {
		l.add(p, 0, "", "", fmt.Sprintf("read: %v", err))
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		l.add(p, 0, "", "", fmt.Sprintf("read: %v", err))
		return nil, false
	}
	if len(data) > MaxFileSize {
		l.add(p, 0, "", "", tooLarge(int64(len(data))))
		return nil, false
	}
	return data, true
}

// tooLarge says a file of size bytes is over MaxFileSize.
func tooLarge(size int64) string {
	return fmt.Sprintf("file too large: %d bytes, the limit is %d (%d MiB)", size, MaxFileSize, MaxFileSize>>20)
}

// loadYAML loads every document of a YAML file.
func (l *loader) loadYAML(file string, data []byte) {
	for _, c := range splitYAML(data) {
		node, errs := parseYAML(c)
		if len(errs) > 0 {
			label := ""
			if node != nil {
				label = nodeLabel(node)
			}
			for _, e := range errs {
				l.add(file, e.line, label, e.field, e.message)
			}
			continue
		}
		if node == nil {
			continue
		}
		js, err := yamlToJSON(c.data)
		if err != nil {
			e := yamlError(err, c.line)
			l.add(file, e.line, nodeLabel(node), "", e.message)
			continue
		}
		l.decode(&document{file: file, line: node.Line, json: js, node: node})
	}
}

// loadJSON loads a JSON file: one value, or several one after the other.
func (l *loader) loadJSON(file string, data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		start := dec.InputOffset()
		err := dec.Decode(&raw)
		if err == io.EOF {
			return
		}
		if err != nil {
			off := dec.InputOffset()
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				off = syn.Offset
			}
			l.add(file, lineAt(data, off), "", "", "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
			return
		}
		start += int64(len(data[start:]) - len(bytes.TrimLeft(data[start:], " \t\r\n")))
		if bytes.Equal(raw, []byte("null")) {
			continue
		}
		d := &document{file: file, line: lineAt(data, start), json: raw}
		// YAML is a superset of JSON: its tree gives fields their lines.
		if node, errs := parseYAML(chunk{data: raw, line: d.line}); len(errs) == 0 {
			d.node = node
		}
		l.decode(d)
	}
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// checkObjects reports objects declared twice and namespaced objects in a
// namespace that neither the tree declares nor the cluster has. l.objs is sorted.
func (l *loader) checkObjects() {
	declared := map[string]bool{}
	for _, o := range l.objs {
		if o.Kind.GroupVersion.Group == "" && o.Kind.Kind == "Namespace" {
			declared[o.ID().Name] = true
		}
	}
	first := map[ObjectID]*loaded{}
	for _, o := range l.objs {
		id := o.ID()
		label := objectLabel(id.Kind, id.Namespace, id.Name)
		if id.Name != "" {
			if f, ok := first[id]; ok {
				l.add(o.File, o.Line, label, "", fmt.Sprintf("duplicate object: already declared at %s:%d", f.File, f.Line))
			} else {
				first[id] = o
			}
		}
		if o.Kind.Namespaced && !declared[id.Namespace] &&
			(l.opts.KnownNamespaces == nil || !l.opts.KnownNamespaces(id.Namespace)) {
			l.add(o.File, o.doc.lineOf("metadata.namespace"), label, "metadata.namespace",
				fmt.Sprintf("namespace %q not found: the tree does not declare it and the cluster does not have it", id.Namespace))
		}
	}
}
