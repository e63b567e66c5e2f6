package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Mirror is a bare copy of a source's repository in a directory of its own, fetched
// in place: a fetch moves only what is new.
type Mirror struct {
	Repo *git.Repository
	url  string
}

// Revision is a commit a source resolved to.
type Revision struct {
	Hash    plumbing.Hash
	Subject string // the first line of the commit message
	Author  string
}

// OpenMirror opens (or creates) the mirror in dir for url. A local path is taken as
// a file:// URL.
func OpenMirror(dir, url string) (*Mirror, error) {
	url = normalizeURL(url)
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return nil, err
		}
		repo, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("open git mirror %s: %w", dir, err)
	}
	remote := &config.RemoteConfig{Name: "origin", URLs: []string{url},
		Fetch: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}}
	if r, err := repo.Remote("origin"); err == nil && r.Config().URLs[0] != url {
		if err := repo.DeleteRemote("origin"); err != nil {
			return nil, err
		}
	}
	if _, err := repo.Remote("origin"); err != nil {
		if _, err := repo.CreateRemote(remote); err != nil {
			return nil, fmt.Errorf("git remote %s: %w", url, err)
		}
	}
	return &Mirror{Repo: repo, url: url}, nil
}

// Fetch brings the mirror up to date and resolves the revision asked for: a commit
// hash, else a tag, else a branch.
func (m *Mirror) Fetch(ctx context.Context, auth transport.AuthMethod, branch, tag, commit string) (Revision, error) {
	err := m.Repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Tags: git.AllTags, Force: true, Prune: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return Revision{}, fmt.Errorf("fetch %s: %w", redact(m.url), err)
	}
	var hash plumbing.Hash
	switch {
	case commit != "":
		h, err := m.Repo.ResolveRevision(plumbing.Revision(commit))
		if err != nil {
			return Revision{}, fmt.Errorf("commit %s: %w", commit, err)
		}
		hash = *h
	case tag != "":
		ref, err := m.Repo.Reference(plumbing.NewTagReferenceName(tag), true)
		if err != nil {
			return Revision{}, fmt.Errorf("tag %s: %w", tag, err)
		}
		hash = ref.Hash()
		if t, err := m.Repo.TagObject(hash); err == nil { // annotated: peel to the commit
			c, err := t.Commit()
			if err != nil {
				return Revision{}, fmt.Errorf("tag %s: %w", tag, err)
			}
			hash = c.Hash
		}
	default:
		ref, err := m.Repo.Reference(plumbing.NewRemoteReferenceName("origin", branch), true)
		if err != nil {
			return Revision{}, fmt.Errorf("branch %s: %w", branch, err)
		}
		hash = ref.Hash()
	}
	c, err := m.Repo.CommitObject(hash)
	if err != nil {
		return Revision{}, fmt.Errorf("commit %s: %w", hash, err)
	}
	return Revision{Hash: hash, Subject: firstLine(c.Message), Author: c.Author.Name}, nil
}

// Tree returns the tree of a commit.
func (m *Mirror) Tree(hash plumbing.Hash) (*object.Tree, error) {
	c, err := m.Repo.CommitObject(hash)
	if err != nil {
		return nil, err
	}
	return c.Tree()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// redact drops credentials from a URL before it is printed.
func redact(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if j := strings.Index(url[i+3:], "@"); j >= 0 {
			return url[:i+3] + "***@" + url[i+3+j+1:]
		}
	}
	return url
}

// normalizeURL turns a local path into a file:// URL.
func normalizeURL(url string) string {
	if strings.HasPrefix(url, "/") {
		return "file://" + url
	}
	return url
}
