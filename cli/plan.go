package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/manifests"
	"github.com/berth-dev/berth/sync"
)

// PlanOptions say what `berth plan` compares.
type PlanOptions struct {
	// Repo is a directory inside a git work tree (or a bare repository).
	Repo string
	// Base is the revision head is compared with in git ("" for none); Head the
	// revision under review (default "HEAD"). Both take anything git's
	// rev-parse takes that go-git resolves: branches, tags, hashes, "HEAD~1",
	// "origin/main".
	Base, Head string
	// Path is the directory of the repository holding the manifests; ""
	// means the GitSource's path with a cluster, else the root.
	Path string
	// Config reaches the cluster; nil plans offline. The readonly token is enough:
	// a plan never writes.
	Config *rest.Config
	// Source is the GitSource the plan is for, "namespace/name" (or a name in
	// kube-system); "" means the cluster's only one, else kube-system/default.
	Source string
	// Progress, when set, is told what the plan is doing (for a terminal).
	Progress func(msg string)
}

// Plan loads head (and base) from the repository, checks head as a sync
// would, and, with a cluster, plans head against the live objects with sync's
// own planning, lists the drift live now and checks that new pods fit on the
// nodes. Problems with the manifests are in the report (ExitCode 2); the error
// is for what stops the plan itself: no repository, an unknown revision, a
// cluster that does not answer. Unlike the rest of this package, Plan reads:
// git, and the cluster through a client that refuses to write.
//
//	rep, err := cli.Plan(ctx, cli.PlanOptions{Repo: ".", Base: "main", Config: readonly})
//	if err != nil {
//		return err
//	}
//	cli.WritePlan(os.Stdout, rep, cli.PlanFormatMarkdown)
//	os.Exit(rep.ExitCode) // 0 no changes, 1 changes, 2 errors
func Plan(ctx context.Context, o PlanOptions) (*PlanReport, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if o.Head == "" {
		o.Head = "HEAD"
	}
	if o.Base == "" && o.Config == nil {
		return nil, errors.New("nothing to compare head with: give a base revision, or a cluster")
	}
	repo, err := planOpenRepo(o.Repo)
	if err != nil {
		return nil, err
	}
	r := &PlanReport{Errors: []PlanProblem{}}
	headRev, headHash, err := planResolve(repo, o.Head)
	if err != nil {
		return nil, err
	}
	r.Head = headRev
	known := func(string) bool { return true }
	var cl *planCluster
	var src sync.Source
	if o.Config != nil {
		progress("reading the cluster…")
		if cl, err = planConnect(ctx, o.Config); err != nil {
			return nil, err
		}
		var path string
		var found bool
		if src, path, found, err = cl.source(ctx, o.Source); err != nil {
			return nil, err
		}
		r.Cluster, r.Source = true, src.String()
		if !found {
			r.Notes = append(r.Notes, fmt.Sprintf("the cluster has no GitSource %s: it owns nothing yet, so nothing would be pruned", src))
		}
		if o.Path == "" {
			o.Path = path
		} else if path != "" && planCleanPath(path) != planCleanPath(o.Path) {
			r.Notes = append(r.Notes, fmt.Sprintf("--path %s differs from the path of source %s (%s)", o.Path, src, path))
		}
		known = func(ns string) bool { return cl.namespaces[ns] }
	} else {
		r.Notes = append(r.Notes, "offline: not compared with a cluster; namespaces the repository does not declare are assumed to exist")
	}
	r.Path = planCleanPath(o.Path)
	mopts := manifests.Options{Path: o.Path, KnownNamespaces: known}

	progress(fmt.Sprintf("loading head %s…", headRev.Short()))
	head, err := planLoad(repo, headHash, mopts)
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", o.Head, err)
	}
	r.Errors = append(r.Errors, head.problems...)
	gitUnchanged := 0
	if o.Base != "" {
		baseRev, baseHash, err := planResolve(repo, o.Base)
		if err != nil {
			return nil, err
		}
		r.Base = &baseRev
		progress(fmt.Sprintf("loading base %s…", baseRev.Short()))
		base, err := planLoad(repo, baseHash, mopts)
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", o.Base, err)
		}
		switch {
		case len(base.problems) > 0:
			r.BaseBroken = true
			r.Notes = append(r.Notes, fmt.Sprintf("base %s does not load (%d errors, such as %s): the changes against it are not shown",
				baseRev.Short(), len(base.problems), base.problems[0]))
		case len(head.problems) == 0:
			if r.Git, gitUnchanged, err = planGitChanges(base.objs, head.objs); err != nil {
				return nil, err
			}
		}
	}
	if cl == nil || len(head.problems) > 0 {
		r.Unchanged = gitUnchanged
		r.ExitCode = r.exitCode()
		return r, nil
	}
	if err := planAgainstCluster(ctx, r, cl, src, head, progress); err != nil {
		return nil, err
	}
	r.ExitCode = r.exitCode()
	return r, nil
}

// planAgainstCluster fills the report's Sync, Drift and Unschedulable from the
// live cluster.
func planAgainstCluster(ctx context.Context, r *PlanReport, cl *planCluster, src sync.Source, head *planRevision, progress func(string)) error {
	desired, err := planDesired(head.objs)
	if err != nil {
		return err
	}
	progress("reading the live objects…")
	live, err := sync.LiveState(ctx, cl.reader, src, desired)
	if err != nil {
		return fmt.Errorf("read the cluster: %w", err)
	}
	res, err := planSync(src, desired, live, cl.unreadable)
	if err != nil {
		return err
	}
	r.Sync, r.Unchanged = res.objs, res.unchanged
	r.Errors = append(r.Errors, res.problems...)
	if r.Drift, err = planDrift(src, live); err != nil {
		return err
	}
	for _, gr := range cl.reader.Unreadable() {
		r.Notes = append(r.Notes, fmt.Sprintf("%s cannot be read with these credentials: their live state, drift and prunes are not compared", gr))
	}
	progress("checking that the new pods fit…")
	nodes, pods, err := cl.nodesAndPods(ctx)
	if err != nil {
		return err
	}
	r.Unschedulable, err = planFitCheck(res.actions, res.changes, nodes, pods)
	return err
}

// planCleanPath is a repository path as the report shows it: "." for the root.
func planCleanPath(p string) string {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return "."
	}
	return p
}
