package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/berth-dev/berth/manifests"
	"github.com/berth-dev/berth/sync"
)

// planOpenRepo opens the git repository holding dir (dir or a parent of it).
func planOpenRepo(dir string) (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", dir, err)
	}
	return repo, nil
}

// planResolve resolves a revision (a branch, tag, commit, "HEAD~1", "origin/main").
func planResolve(repo *git.Repository, ref string) (PlanRevision, plumbing.Hash, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		return PlanRevision{}, plumbing.ZeroHash, fmt.Errorf("resolve revision %q: %w", ref, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return PlanRevision{}, plumbing.ZeroHash, fmt.Errorf("read commit %s of %q: %w", h, ref, err)
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return PlanRevision{Ref: ref, Commit: h.String(), Subject: subject}, *h, nil
}

// planRevision is one loaded revision: its objects, or its problems.
type planRevision struct {
	objs     []*manifests.Object
	problems []PlanProblem
}

// planLoad loads the manifests of a commit. Problems with the manifests are
// returned in the revision; other errors (the tree cannot be read) as errors.
func planLoad(repo *git.Repository, commit plumbing.Hash, opts manifests.Options) (*planRevision, error) {
	objs, err := manifests.Load(repo, commit, opts)
	var bad manifests.Errors
	switch {
	case errors.As(err, &bad):
		rev := &planRevision{}
		for _, e := range bad {
			rev.problems = append(rev.problems, PlanProblem{File: e.File, Line: e.Line, Object: e.Object, Field: e.Field, Message: e.Message})
		}
		return rev, nil
	case err != nil:
		return nil, err
	}
	return &planRevision{objs: manifests.Order(objs)}, nil
}

// planDesired turns loaded manifests into sync's plan input, in apply order.
func planDesired(objs []*manifests.Object) ([]*sync.Desired, error) {
	out := make([]*sync.Desired, 0, len(objs))
	for _, o := range objs {
		u, err := planUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, &sync.Desired{Kind: o.Kind, Obj: u, File: o.File, Line: o.Line})
	}
	return out, nil
}

// planUnstructured decodes a manifest as written.
func planUnstructured(o *manifests.Object) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(o.Raw, &u.Object); err != nil {
		return nil, fmt.Errorf("%s:%d: decode %s: %w", o.File, o.Line, o.ID(), err)
	}
	return u, nil
}

// planGitChanges compares two loaded revisions object by object: head's objects
// in apply order (created or updated), then those only base has (deleted), by
// name. It also returns how many objects are alike.
func planGitChanges(base, head []*manifests.Object) ([]PlanObject, int, error) {
	byID := map[manifests.ObjectID]*manifests.Object{}
	for _, o := range base {
		byID[o.ID()] = o
	}
	var out, deleted []PlanObject
	unchanged := 0
	seen := map[manifests.ObjectID]bool{}
	for _, o := range head {
		id := o.ID()
		seen[id] = true
		nu, err := planUnstructured(o)
		if err != nil {
			return nil, 0, err
		}
		po := planObjectOf(id, o.File, o.Line)
		old := byID[id]
		if old == nil {
			po.Action, po.Changes = PlanCreate, planDiff(o.Kind, nil, nu.Object)
			out = append(out, po)
			continue
		}
		ou, err := planUnstructured(old)
		if err != nil {
			return nil, 0, err
		}
		changes := planDiff(o.Kind, ou.Object, nu.Object)
		if len(changes) == 0 {
			unchanged++
			continue
		}
		po.Action, po.Changes = PlanUpdate, changes
		out = append(out, po)
	}
	for _, o := range base {
		if id := o.ID(); !seen[id] {
			po := planObjectOf(id, o.File, o.Line)
			po.Action, po.Note = PlanDelete, "removed from git"
			deleted = append(deleted, po)
		}
	}
	planSortByID(deleted)
	return append(out, deleted...), unchanged, nil
}

// planObjectOf starts the PlanObject of a manifest.
func planObjectOf(id manifests.ObjectID, file string, line int) PlanObject {
	return PlanObject{Group: id.Group, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name, File: file, Line: line}
}

// planSortByID sorts objects by their IDs.
func planSortByID(objs []PlanObject) {
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].ID() < objs[j].ID() })
}
