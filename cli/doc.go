// Package cli renders what berth's read-only commands print: kubectl-style tables
// (from the API server's meta.k8s.io Tables or built here), objects as YAML or JSON,
// `describe` pages with an object's events, event lists, and the `berth status`
// screen. Nothing here talks to the API server: every function renders values it is
// given, against a clock it is given, so the output of a snapshot is always the same.
//
// The commands in cmd/berth fetch, this package prints:
//
//	snap := cli.Snapshot{Sources: ..., Nodes: ..., Workloads: ..., Warnings: ...}
//	cli.WriteStatus(os.Stdout, snap, cli.StatusOptions{Now: time.Now(), Color: true})
//
// and errors are printed as kubectl prints them with ErrorMessage.
package cli
