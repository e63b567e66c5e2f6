package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// DriftReport writes drift to a branch: for each file that declares a drifted object,
// the file's objects as YAML with the drifted ones as they are live, committed on top
// of base. It returns the new commit, or the zero hash when the branch already holds
// exactly this report.
func (m *Mirror) DriftReport(base plumbing.Hash, branch string, author *berthv1.CommitAuthor, files map[string][]byte, message string) (plumbing.Hash, error) {
	baseCommit, err := m.Repo.CommitObject(base)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("drift report base %s: %w", base, err)
	}
	tree, err := m.replaceFiles(baseCommit.TreeHash, "", files)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("drift report tree: %w", err)
	}
	local := plumbing.NewBranchReferenceName(branch)
	if ref, err := m.Repo.Reference(local, true); err == nil {
		if head, err := m.Repo.CommitObject(ref.Hash()); err == nil && head.TreeHash == tree &&
			len(head.ParentHashes) == 1 && head.ParentHashes[0] == base {
			return plumbing.ZeroHash, nil // already reported
		}
	}
	who := object.Signature{Name: "berth", Email: "berth@localhost", When: time.Now()}
	if author != nil && author.Name != "" {
		who.Name, who.Email = author.Name, author.Email
	}
	c := &object.Commit{Author: who, Committer: who, Message: message, TreeHash: tree, ParentHashes: []plumbing.Hash{base}}
	obj := m.Repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	hash, err := m.Repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := m.Repo.Storer.SetReference(plumbing.NewHashReference(local, hash)); err != nil {
		return plumbing.ZeroHash, err
	}
	return hash, nil
}

// Push force-pushes a local branch of the mirror to the same branch of origin.
func (m *Mirror) Push(ctx context.Context, auth transport.AuthMethod, branch string) error {
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/heads/%s", branch, branch))
	err := m.Repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: auth})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push %s to %s: %w", branch, redact(m.url), err)
	}
	return nil
}

// replaceFiles returns the hash of the tree at treeHash (dir is its path) with files
// (paths relative to the root) written in, creating directories as needed.
func (m *Mirror) replaceFiles(treeHash plumbing.Hash, dir string, files map[string][]byte) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !treeHash.IsZero() {
		t, err := m.Repo.TreeObject(treeHash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, t.Entries...)
	}
	here := map[string][]byte{}             // files directly in dir
	below := map[string]map[string][]byte{} // subdirectory -> its files
	for p, body := range files {
		rel := strings.TrimPrefix(p, dir)
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			sub := rel[:i]
			if below[sub] == nil {
				below[sub] = map[string][]byte{}
			}
			below[sub][p] = body
		} else {
			here[rel] = body
		}
	}
	set := func(name string, mode filemode.FileMode, hash plumbing.Hash) {
		for i := range entries {
			if entries[i].Name == name {
				entries[i].Mode, entries[i].Hash = mode, hash
				return
			}
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: mode, Hash: hash})
	}
	for name, body := range here {
		obj := m.Repo.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := w.Write(body); err != nil {
			return plumbing.ZeroHash, err
		}
		w.Close()
		h, err := m.Repo.Storer.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		set(name, filemode.Regular, h)
	}
	for sub, subFiles := range below {
		var subTree plumbing.Hash
		for _, e := range entries {
			if e.Name == sub && e.Mode == filemode.Dir {
				subTree = e.Hash
			}
		}
		h, err := m.replaceFiles(subTree, dir+sub+"/", subFiles)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		set(sub, filemode.Dir, h)
	}
	sort.Slice(entries, func(i, j int) bool { return treeSortKey(entries[i]) < treeSortKey(entries[j]) })
	t := &object.Tree{Entries: entries}
	obj := m.Repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return m.Repo.Storer.SetEncodedObject(obj)
}

// treeSortKey orders tree entries as git does: directories as if their name ended in "/".
func treeSortKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// driftFiles builds the content of each file that declares a drifted object: every
// object the file declares, in order, drifted ones as they are live (cleaned of what
// the server adds) and the others as git has them.
func driftFiles(desired []*Desired, drifted map[ID]*unstructured.Unstructured) (map[string][]byte, error) {
	byFile := map[string][]*Desired{}
	touched := map[string]bool{}
	for _, d := range desired {
		byFile[d.File] = append(byFile[d.File], d)
		if _, ok := drifted[IDOf(d.Obj)]; ok {
			touched[d.File] = true
		}
	}
	out := map[string][]byte{}
	for file := range touched {
		target := file
		if base := path.Base(file); base == "kustomization.yaml" || base == "kustomization.yml" {
			target = path.Join(path.Dir(file), "berth-drift.yaml") // rendered by kustomize: report beside it
		}
		var buf bytes.Buffer
		for i, d := range byFile[file] {
			obj := d.Obj
			if live, ok := drifted[IDOf(d.Obj)]; ok {
				obj = cleanLive(live)
			}
			b, err := yaml.Marshal(obj.Object)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				buf.WriteString("---\n")
			}
			buf.Write(b)
		}
		out[target] = buf.Bytes()
	}
	return out, nil
}

// cleanLive returns a live object as a manifest: without status, server-set metadata
// and berth's own label and annotation.
func cleanLive(live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	if l := u.GetLabels(); l != nil {
		delete(l, SourceLabel)
		delete(l, SourceNamespaceLabel)
		if len(l) == 0 {
			l = nil
		}
		u.SetLabels(l)
	}
	if a := u.GetAnnotations(); a != nil {
		delete(a, LastAppliedAnnotation)
		if len(a) == 0 {
			a = nil
		}
		u.SetAnnotations(a)
	}
	return u
}
