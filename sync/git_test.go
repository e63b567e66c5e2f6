package sync

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitFiles writes files into a work tree repository and commits them.
func commitFiles(t *testing.T, repo *git.Repository, dir string, files map[string]string, msg string) plumbing.Hash {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMirrorFetch: a mirror of a local repository follows its branch, resolves tags
// and pinned commits, and sees new commits on the next fetch.
func TestMirrorFetch(t *testing.T) {
	src := t.TempDir()
	repo, err := git.PlainInitWithOptions(src, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	first := commitFiles(t, repo, src, map[string]string{"a.yaml": "a: 1\n"}, "first commit\n\nbody")
	if _, err := repo.CreateTag("v1", first, nil); err != nil {
		t.Fatal(err)
	}
	m, err := OpenMirror(filepath.Join(t.TempDir(), "mirror"), src)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, err := m.Fetch(ctx, nil, "main", "", "")
	if err != nil || rev.Hash != first || rev.Subject != "first commit" {
		t.Fatalf("fetch: %v %+v", err, rev)
	}
	second := commitFiles(t, repo, src, map[string]string{"b.yaml": "b: 1\n"}, "second")
	if rev, err = m.Fetch(ctx, nil, "main", "", ""); err != nil || rev.Hash != second {
		t.Fatalf("fetch after a commit: %v %v, want %v", err, rev.Hash, second)
	}
	if rev, err = m.Fetch(ctx, nil, "", "v1", ""); err != nil || rev.Hash != first {
		t.Fatalf("tag: %v %v", err, rev.Hash)
	}
	if rev, err = m.Fetch(ctx, nil, "main", "", first.String()); err != nil || rev.Hash != first {
		t.Fatalf("pinned commit: %v %v", err, rev.Hash)
	}
	if _, err = m.Fetch(ctx, nil, "nope", "", ""); err == nil {
		t.Fatal("a missing branch resolved")
	}
	tree, err := m.Tree(second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.File("b.yaml"); err != nil {
		t.Errorf("tree of the second commit lacks b.yaml: %v", err)
	}
	if got := redact("https://user:secret@example.com/r.git"); got != "https://***@example.com/r.git" {
		t.Errorf("redact: %s", got)
	}
}
