package cli

import (
	"fmt"
	"sort"
	"strings"
)

// The actions of a PlanObject.
const (
	// PlanCreate: the object is new.
	PlanCreate = "create"
	// PlanUpdate: fields of the object change.
	PlanUpdate = "update"
	// PlanDelete: the object goes (removed from git, or pruned from the cluster).
	PlanDelete = "delete"
	// PlanUnreadable: the object's live state cannot be read with the plan's
	// credentials (Secrets with the readonly token), so it was not compared.
	PlanUnreadable = "unreadable"
	// PlanDrift: the live object differs from what berth last applied (Drift only).
	PlanDrift = "drift"
)

// The operations of a PlanFieldChange.
const (
	FieldAdd    = "add"
	FieldRemove = "remove"
	FieldChange = "change"
)

// Exit statuses of `berth plan`, as `argocd app diff` and `flux diff` use them.
const (
	PlanExitNoChange = 0
	PlanExitChanges  = 1
	PlanExitErrors   = 2
)

// PlanReport is everything `berth plan` found: what head changes against base
// (Git) and against the live cluster (Sync), what is wrong with head, the drift
// live now and the pods that would not fit. The renderers print it; JSON scripts
// read it as is.
type PlanReport struct {
	// Base is nil without --base.
	Base *PlanRevision `json:"base,omitempty"`
	Head PlanRevision  `json:"head"`
	// Path is the directory of the repository holding the manifests.
	Path string `json:"path"`
	// Source is the GitSource ("namespace/name") whose objects head replaces;
	// empty offline.
	Source string `json:"source,omitempty"`
	// Cluster says whether the plan read a live cluster.
	Cluster bool `json:"cluster"`
	// Errors are head's problems, each naming file:line, object and field, and
	// objects another source owns. Any error makes the whole revision fail to sync.
	Errors []PlanProblem `json:"errors"`
	// Sync is what a sync of head would do to the live cluster, prunes included.
	Sync []PlanObject `json:"sync,omitempty"`
	// Git is what head changes against base, object by object.
	Git []PlanObject `json:"git,omitempty"`
	// Drift lists the source's live objects that differ from what berth last
	// applied to them: changed outside git.
	Drift []PlanObject `json:"drift,omitempty"`
	// Unschedulable lists the workloads whose new pods would not all fit on the
	// nodes as they are now.
	Unschedulable []PlanFit `json:"unschedulable,omitempty"`
	// Unchanged counts head's objects a sync would leave alone (or that base and
	// head declare alike, offline).
	Unchanged int `json:"unchanged"`
	// BaseBroken says base does not load, so the changes against it are unknown.
	BaseBroken bool `json:"baseBroken,omitempty"`
	// Notes say what the plan could not check, and why.
	Notes []string `json:"notes,omitempty"`
	// ExitCode is 0 without changes, 1 with changes, 2 with errors.
	ExitCode int `json:"exitCode"`
}

// PlanRevision is one commit of the repository.
type PlanRevision struct {
	// Ref is the revision as given, such as "main" or "HEAD~1".
	Ref     string `json:"ref"`
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
}

// Short is the ref with the commit's first 7 hex digits.
func (r PlanRevision) Short() string {
	c := r.Commit
	if len(c) > 7 {
		c = c[:7]
	}
	if r.Ref == "" || r.Ref == c || strings.HasPrefix(r.Commit, r.Ref) {
		return c
	}
	return r.Ref + " (" + c + ")"
}

// PlanProblem is one error of head: where it is, which object and field.
type PlanProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String formats p as "file:line: object: field: message", leaving out the
// parts that are unknown.
func (p PlanProblem) String() string {
	var parts []string
	switch {
	case p.File != "" && p.Line > 0:
		parts = append(parts, fmt.Sprintf("%s:%d", p.File, p.Line))
	case p.File != "":
		parts = append(parts, p.File)
	}
	for _, s := range []string{p.Object, p.Field, p.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// kind is the kind of the problem's object, without its group ("" when the
// problem concerns a whole file).
func (p PlanProblem) kind() string {
	k, _, _ := strings.Cut(p.Object, " ")
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		k = k[i+1:]
	}
	return k
}

// PlanObject is one object a plan creates, updates or deletes.
type PlanObject struct {
	Action    string `json:"action"`
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// File and Line say where git declares the object (where base declared it,
	// for a delete of Git; nothing for a prune).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Changes are the fields that differ: every field of a created object, the
	// changed ones of an update, the drifted ones of Drift (old: as applied,
	// new: as live). Secret values read "***".
	Changes []PlanFieldChange `json:"changes,omitempty"`
	// Note says more in words, such as why a delete happens.
	Note string `json:"note,omitempty"`
}

// ID names the object as "group/Kind namespace/name", as sync's status does.
func (o PlanObject) ID() string {
	k := o.Kind
	if o.Group != "" {
		k = o.Group + "/" + k
	}
	if o.Namespace == "" {
		return k + " " + o.Name
	}
	return k + " " + o.Namespace + "/" + o.Name
}

// Where is "file:line", or "" when git does not declare the object.
func (o PlanObject) Where() string {
	if o.File == "" {
		return ""
	}
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// PlanFieldChange is one field that differs between two versions of an object.
type PlanFieldChange struct {
	// Path is the field, such as "spec.template.spec.containers[name=web].image".
	Path string `json:"path"`
	// Op is add, remove or change.
	Op  string `json:"op"`
	Old any    `json:"old,omitempty"`
	New any    `json:"new,omitempty"`
}

// PlanFit is a workload whose new pods would not all fit.
type PlanFit struct {
	// Object is "group/Kind namespace/name".
	Object string `json:"object"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	// Pods is how many new pods the plan places; Unfit how many of them fit nowhere.
	Pods  int `json:"pods"`
	Unfit int `json:"unfit"`
	// Message says why, such as "3 of 3 pods would not fit: each needs 2 CPU;
	// nodes have 1.5, 1.2, 0.8 CPU free (0/3 nodes are available: 3 Insufficient cpu.)".
	Message string `json:"message"`
}

// Primary is the list a plan is about: the sync against the live cluster when
// there is one, else the changes against base.
func (r *PlanReport) Primary() []PlanObject {
	if r.Cluster {
		return r.Sync
	}
	return r.Git
}

// exitCode is 2 with errors, 1 with changes (or unschedulable pods, or a base
// that does not load), else 0. Objects that could not be compared are no change.
func (r *PlanReport) exitCode() int {
	switch {
	case len(r.Errors) > 0:
		return PlanExitErrors
	case len(r.Git) > 0 || len(r.Unschedulable) > 0 || r.BaseBroken:
		return PlanExitChanges
	}
	for _, o := range r.Sync {
		if o.Action != PlanUnreadable { // not compared: not known to change
			return PlanExitChanges
		}
	}
	return PlanExitNoChange
}

// planKindCounts are how many objects of one kind a plan creates, updates and
// deletes, and how many errors concern that kind.
type planKindCounts struct {
	Kind                                       string
	Create, Update, Delete, Unreadable, Errors int
}

// planCounts returns the counts of objs and errs per kind, sorted by kind, and
// their totals (Kind "").
func planCounts(objs []PlanObject, errs []PlanProblem) (rows []planKindCounts, total planKindCounts) {
	byKind := map[string]*planKindCounts{}
	get := func(k string) *planKindCounts {
		if k == "" {
			k = "(file)"
		}
		c := byKind[k]
		if c == nil {
			c = &planKindCounts{Kind: k}
			byKind[k] = c
		}
		return c
	}
	for _, o := range objs {
		c := get(o.Kind)
		switch o.Action {
		case PlanCreate:
			c.Create++
		case PlanUpdate:
			c.Update++
		case PlanDelete:
			c.Delete++
		case PlanUnreadable:
			c.Unreadable++
		}
	}
	for _, e := range errs {
		get(e.kind()).Errors++
	}
	for _, c := range byKind {
		rows = append(rows, *c)
		total.Create += c.Create
		total.Update += c.Update
		total.Delete += c.Delete
		total.Unreadable += c.Unreadable
		total.Errors += c.Errors
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Kind < rows[j].Kind })
	return rows, total
}
