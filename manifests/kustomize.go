package manifests

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFile returns the path of dir's kustomization file, or "" when
// dir has none.
func kustomizationFile(fsys fs.FS, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if info, err := fs.Stat(fsys, p); err == nil && info.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// kustomization is a parsed kustomization file.
type kustomization struct {
	dir, file string
	k         *types.Kustomization
	node      *yamlv3.Node // the file's YAML, for the lines of references
}

// lineOf returns the line of the first string value ref in the kustomization
// file, or 1.
func (kz *kustomization) lineOf(ref string) int {
	if n := findScalar(kz.node, ref); n != nil {
		return n.Line
	}
	return 1
}

// readKustomization reads and parses dir's kustomization file, reporting
// errors at the file.
func (l *loader) readKustomization(dir string) (*kustomization, bool) {
	file := kustomizationFile(l.fsys, dir)
	if file == "" {
		return nil, false
	}
	info, err := fs.Stat(l.fsys, file)
	if err != nil {
		l.add(file, 0, "", "", fmt.Sprintf("read: %v", err))
		return nil, false
	}
	data, ok := l.readFile(file, fs.FileInfoToDirEntry(info))
	if !ok {
		return nil, false
	}
	// Refuse alias bombs and duplicate keys before kustomize reads it.
	node, errs := parseYAML(chunk{data: data, line: 1})
	if len(errs) > 0 {
		for _, e := range errs {
			l.add(file, e.line, "", e.field, e.message)
		}
		return nil, false
	}
	k := &types.Kustomization{}
	if err := k.Unmarshal(data); err != nil {
		l.add(file, 1, "", "", oneLine(err.Error()))
		return nil, false
	}
	k.FixKustomization()
	return &kustomization{dir: dir, file: file, k: k, node: node}, true
}

// renderKustomizations renders every kustomization directory found by walk,
// except those another one uses (a base and its overlay render once, through
// the overlay) and Components, which only render as part of a kustomization.
func (l *loader) renderKustomizations() {
	var found []*kustomization
	used := map[string]bool{}
	for _, dir := range l.kustomizations {
		kz, ok := l.readKustomization(dir)
		if !ok {
			continue
		}
		found = append(found, kz)
		for _, ref := range append(kz.k.Resources, kz.k.Components...) {
			if p, ok := resolve(dir, ref); ok {
				used[p] = true
			}
		}
	}
	for _, kz := range found {
		if used[kz.dir] || kz.k.Kind == types.ComponentKind {
			continue
		}
		l.render(kz)
	}
}

// render builds one kustomization with krusty over an in-memory copy of its
// directory and of the directories it uses inside the repository, and loads the
// objects it outputs. Nothing is fetched: remote resources are an error.
func (l *loader) render(kz *kustomization) {
	mem := filesys.MakeFsInMemory()
	c := &kustomizeCopy{l: l, mem: mem, copied: map[string]bool{}, visited: map[string]bool{}}
	if !c.copyDir(kz.dir) || !c.visit(kz) {
		return
	}
	objs, err := build(mem, memPath(kz.dir))
	if err != nil {
		l.add(kz.file, 1, "", "", "kustomize: "+oneLine(err.Error()))
		return
	}
	for _, js := range objs {
		l.decode(&document{file: kz.file, line: 1, json: js})
	}
}

// build runs krusty at dir of fsys and returns the output objects as JSON.
func build(fsys filesys.FileSystem, dir string) (objs [][]byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize failed: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	for _, r := range m.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.CurId(), err)
		}
		objs = append(objs, js)
	}
	return objs, nil
}

// kustomizeCopy copies a kustomization, and what it uses, into memory.
type kustomizeCopy struct {
	l       *loader
	mem     filesys.FileSystem
	copied  map[string]bool // directories copied with their subtrees
	visited map[string]bool // kustomization directories checked
}

// visit checks the references of kz: resources and components must be in the
// repository, and are copied; no file may be a URL. Kustomizations it uses are
// visited in turn. It reports whether all is well.
func (c *kustomizeCopy) visit(kz *kustomization) bool {
	if c.visited[kz.dir] {
		return true
	}
	c.visited[kz.dir] = true
	ok := true
	fail := func(ref, format string) {
		c.l.add(kz.file, kz.lineOf(ref), "", "", fmt.Sprintf(format, ref))
		ok = false
	}
	for _, ref := range append(append([]string(nil), kz.k.Resources...), kz.k.Components...) {
		if strings.Contains(ref, "://") {
			fail(ref, "remote resource %q: berth renders kustomizations without network access")
			continue
		}
		p, inside := resolve(kz.dir, ref)
		if !inside {
			fail(ref, "resource %q is outside the repository")
			continue
		}
		info, err := fs.Stat(c.l.fsys, p)
		if err != nil {
			fail(ref, "resource %q not found in the repository (remote resources are not supported)")
			continue
		}
		if !info.IsDir() {
			ok = c.copyFile(p) && ok
			continue
		}
		if !c.copyDir(p) {
			ok = false
			continue
		}
		if sub, found := c.l.readKustomization(p); found {
			ok = c.visit(sub) && ok
		}
	}
	for _, f := range fileRefs(kz.k) {
		if isURL(f) {
			fail(f, "remote file %q: berth renders kustomizations without network access")
		}
	}
	return ok
}

// copyDir copies dir and everything under it, but hidden entries and files
// over MaxFileSize, into memory.
func (c *kustomizeCopy) copyDir(dir string) bool {
	for d := dir; ; d = path.Dir(d) {
		if c.copied[d] {
			return true
		}
		if d == "." {
			break
		}
	}
	c.copied[dir] = true
	ok := true
	err := fs.WalkDir(c.l.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return c.mem.MkdirAll(memPath(p))
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > MaxFileSize {
			if isManifest(p) {
				c.l.add(p, 0, "", "", tooLarge(info.Size()))
				ok = false
			}
			return nil
		}
		ok = c.copyFile(p) && ok
		return nil
	})
	if err != nil {
		c.l.add(dir, 0, "", "", fmt.Sprintf("copy for kustomize: %v", err))
		return false
	}
	return ok
}

// copyFile copies one file of at most MaxFileSize into memory.
func (c *kustomizeCopy) copyFile(p string) bool {
	info, err := fs.Stat(c.l.fsys, p)
	if err != nil {
		c.l.add(p, 0, "", "", fmt.Sprintf("read: %v", err))
		return false
	}
	data, ok := c.l.readFile(p, fs.FileInfoToDirEntry(info))
	if !ok {
		return false
	}
	if err := c.mem.MkdirAll(memPath(path.Dir(p))); err != nil {
		c.l.add(p, 0, "", "", fmt.Sprintf("copy for kustomize: %v", err))
		return false
	}
	if err := c.mem.WriteFile(memPath(p), data); err != nil {
		c.l.add(p, 0, "", "", fmt.Sprintf("copy for kustomize: %v", err))
		return false
	}
	return true
}

// fileRefs lists the files a kustomization names besides its resources and
// components: patches, generator sources, CRDs, configurations, plugin
// configurations and the OpenAPI schema. Inline entries are skipped.
func fileRefs(k *types.Kustomization) []string {
	var refs []string
	add := func(ss ...string) {
		for _, s := range ss {
			if s != "" && !strings.Contains(s, "\n") {
				refs = append(refs, s)
			}
		}
	}
	for _, p := range k.Patches {
		add(p.Path)
	}
	// Deprecated fields still work in kustomize, so their files are checked too.
	//lint:ignore SA1019 kustomize still reads this deprecated field
	for _, p := range k.PatchesJson6902 {
		add(p.Path)
	}
	//lint:ignore SA1019 kustomize still reads this deprecated field
	for _, p := range k.PatchesStrategicMerge {
		add(string(p))
	}
	for _, r := range k.Replacements {
		add(r.Path)
	}
	sources := func(s types.KvPairSources) {
		for _, f := range s.FileSources {
			if _, file, ok := strings.Cut(f, "="); ok {
				f = file
			}
			add(f)
		}
		add(s.EnvSources...)
		add(s.EnvSource)
	}
	for _, g := range k.ConfigMapGenerator {
		sources(g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		sources(g.KvPairSources)
	}
	add(k.Crds...)
	add(k.Configurations...)
	add(k.Generators...)
	add(k.Transformers...)
	add(k.Validators...)
	add(k.OpenAPI["path"])
	return refs
}

// isURL reports a reference kustomize would fetch over the network.
func isURL(ref string) bool {
	return strings.Contains(ref, "://")
}

// resolve joins a reference to the directory of the kustomization naming it,
// and reports whether the result is inside the repository.
func resolve(dir, ref string) (string, bool) {
	if path.IsAbs(ref) {
		return "", false
	}
	p := path.Join(dir, ref)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// memPath is the path of a repository path in the in-memory file system.
func memPath(p string) string {
	return path.Join("/", p)
}

// oneLine joins the lines of a multi-line message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
