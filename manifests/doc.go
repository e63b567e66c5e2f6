// Package manifests loads the Kubernetes manifests of a git commit into typed
// objects, checking every one of them the way the API server would, so that a
// revision is either wholly good or rejected with every problem listed.
//
// # What it reads
//
// Load walks the tree of a commit straight from the repository's objects (no
// checkout) below Options.Path; LoadFS does the same over any fs.FS, such as
// os.DirFS of a work tree for `berth plan`. It reads
//
//   - .yaml and .yml files, one or more documents separated by "---" lines;
//     empty documents are skipped;
//   - .json files, one object or several one after the other;
//   - v1 Lists, whose items become objects of their own;
//   - directories holding a kustomization.yaml (or .yml, or Kustomization), which
//     are rendered with kustomize in memory, without network access. Their files
//     are not loaded on their own, and a kustomization that another one uses (a
//     base, a component) is rendered only through it.
//
// It skips other files (README.md, scripts), everything under a directory or
// file whose name starts with a dot (.github, .gitlab-ci.yml), and the paths a
// .berthignore file at the top of Options.Path lists, in gitignore syntax.
//
// # What it checks
//
// Each object is decoded strictly into its k8s.io/api (or berth.dev) type, found
// by apiVersion and kind among the kinds berth serves; it is then defaulted and
// validated, on a copy, with the API server's own hooks (package
// apiserver/registry). Across the tree, no object may be declared twice, and a
// namespaced object's namespace must be declared in the tree or already exist.
// Any problem is an *Error naming file, line, object and field:
//
//	apps/web.yaml:14: Deployment default/web: spec.template.spec.containers[0].imagee: unknown field
//
// and Load returns all of them, sorted, as Errors. Files over MaxFileSize and
// YAML whose aliases would expand it enormously are refused without being
// expanded.
//
// # The caller's duties
//
// Treat an Errors result as terminal for the revision: retrying will not fix
// it, and none of it should be applied. Objects come back undefaulted (the
// server defaults them on apply) but with their namespace filled in; Raw holds
// the document as JSON for the last-applied annotation. Apply in Order(objs)
// and prune in the reverse.
//
// # Example
//
//	objs, err := manifests.Load(repo, commit, manifests.Options{
//		Path:            "clusters/prod",
//		KnownNamespaces: func(ns string) bool { return live.Has(ns) },
//	})
//	var bad manifests.Errors
//	if errors.As(err, &bad) {
//		status.Errors = strings.Split(bad.Error(), "\n") // every file:line: object: field: problem
//		return terminal(err)
//	}
//	if err != nil {
//		return err // could not read the commit: retry later
//	}
//	for _, o := range manifests.Order(objs) {
//		fmt.Println(o.ID()) // "Namespace prod", "apps/Deployment prod/web", ...
//	}
package manifests
