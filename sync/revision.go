package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/manifests"
)

// Phases of a GitSource.
const (
	PhaseSynced      = "Synced"
	PhaseProgressing = "Progressing"
	PhaseDegraded    = "Degraded"
	PhaseOutOfSync   = "OutOfSync"
	PhaseFailed      = "Failed"
	PhaseSuspended   = "Suspended"
)

// Object states in a source's status.
const (
	StateCreated    = "created"
	StateConfigured = "configured"
	StateUnchanged  = "unchanged"
	StatePruned     = "pruned"
	StateFailed     = "failed"
	StateOutOfSync  = "out-of-sync"
)

// sync brings one source to the revision it follows and records what happened in
// its status: fetch, load and validate every manifest, plan, dry-run the whole plan,
// then apply it. Any error before the apply leaves the cluster as it was.
func (c *Controller) sync(ctx context.Context, src *berthv1.GitSource) {
	st := &berthv1.GitSourceStatus{}
	src.Status.DeepCopyInto(st)
	st.ObservedGeneration = src.Generation
	defer func() { c.writeStatus(ctx, src, st) }()
	if src.Spec.Suspend {
		st.Phase, st.Message = PhaseSuspended, "suspended: not syncing"
		return
	}
	fail := func(stage string, err error) {
		st.Phase = PhaseFailed
		st.LastError = fmt.Sprintf("%s: %v", stage, err)
		st.Errors = errorLines(err)
		st.Message = fmt.Sprintf("revision %s not applied: %s failed", short(st.Revision), stage)
		c.recorder.Event(c.ref(src), corev1.EventTypeWarning, "SyncFailed", truncate(st.LastError, 1000))
		c.log.Warn("sync failed", "source", src.Namespace+"/"+src.Name, "revision", short(st.Revision), "stage", stage, "err", err)
	}
	start := time.Now()
	state, err := c.state(src)
	if err != nil {
		fail("fetch", err)
		return
	}
	m := state.mirror
	auth, err := c.auth(ctx, src)
	if err != nil {
		fail("fetch", err)
		return
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	rev, err := m.Fetch(fctx, auth, src.Spec.Branch, src.Spec.Tag, src.Spec.Commit)
	cancel()
	if err != nil {
		fail("fetch", err)
		return
	}
	st.Revision, st.RevisionMessage = rev.Hash.String(), rev.Subject
	fetched := time.Now()

	known, err := c.namespaces(ctx)
	if err != nil {
		fail("load", err)
		return
	}
	objs, err := manifests.Load(m.Repo, rev.Hash, manifests.Options{Path: src.Spec.Path, KnownNamespaces: known, Cache: state.cache})
	if err != nil {
		fail("load", err)
		return
	}
	desired, err := state.toDesired(manifests.Order(objs))
	if err != nil {
		fail("load", err)
		return
	}
	owner := Source{Namespace: src.Namespace, Name: src.Name}
	live, err := c.liveState(ctx, owner, desired, state.inSync)
	if err != nil {
		fail("plan", err)
		return
	}
	actions, err := PlanKnown(owner, desired, live, state.inSync)
	if err != nil {
		fail("plan", err)
		return
	}
	newRevision := st.AppliedRevision != st.Revision
	actions, held := filter(src, actions, newRevision)
	if err := DryRun(ctx, c.dyn, actions); err != nil {
		fail("validate", err)
		return
	}
	planned := time.Now()
	key := src.Namespace + "/" + src.Name
	c.own.begin(key)
	results := Apply(ctx, c.dyn, actions)
	if c.own.end(key, results) {
		c.queue.AddAfter(key, driftDelay) // another writer changed an object meanwhile
	}
	state.remember(results)
	st.Objects, st.Errors, st.Health = nil, nil, Healthy
	failed := 0
	endpoints := c.endpointsLookup(ctx)
	for _, r := range results {
		mo := managedObject(r)
		if r.Err != nil {
			failed++
			st.Errors = append(st.Errors, fmt.Sprintf("%s:%d: %s: %s", r.Action.File, r.Action.Line, r.Action.ID, apiMessage(r.Err)))
		}
		switch {
		case r.Action.Type == Unchanged && r.Action.Live != nil:
			mo.Health, mo.Message = Health(r.Action.Live, endpoints)
		case r.Action.Type == Create || r.Action.Type == Update:
			mo.Health, mo.Message = Progressing, "just applied"
		case r.Action.Type == Delete:
			mo.Health = ""
		}
		if r.Action.Type == Update && !newRevision && r.Err == nil {
			mo.Drift = patchPaths(r.Action.Patch)
			mo.Message = "changed outside git; restored: " + strings.Join(mo.Drift, ", ")
			c.recorder.Eventf(c.ref(src), corev1.EventTypeWarning, "DriftHealed", "%s changed outside git (%s); restored from %s",
				r.Action.ID, strings.Join(mo.Drift, ", "), short(st.Revision))
		}
		if r.Action.Type != Delete {
			st.Health = worse(st.Health, mo.Health)
		}
		st.Objects = append(st.Objects, mo)
	}
	for _, a := range held {
		mo := berthv1.ManagedObject{APIVersion: a.Kind.GroupVersion.String(), Kind: a.ID.Kind,
			Namespace: a.ID.Namespace, Name: a.ID.Name, State: StateOutOfSync, Drift: patchPaths(a.Patch)}
		mo.Health, _ = Health(a.Live, endpoints)
		mo.Message = "changed outside git (selfHeal is off): " + strings.Join(mo.Drift, ", ")
		if !reported(src.Status.Objects, mo) {
			c.recorder.Eventf(c.ref(src), corev1.EventTypeWarning, "DriftDetected", "%s changed outside git: %s",
				a.ID, strings.Join(mo.Drift, ", "))
		}
		st.Objects = append(st.Objects, mo)
	}
	c.reportDrift(ctx, src, m, auth, rev, desired, results, held, newRevision)
	st.ObjectCount = len(st.Objects)
	st.Objects, st.ObjectsOmitted = capObjects(st.Objects, maxStatusObjects)
	now := metav1.Now()
	st.LastSyncTime = &now
	st.Timings = &berthv1.SyncTimings{Fetch: metav1.Duration{Duration: fetched.Sub(start)},
		Plan: metav1.Duration{Duration: planned.Sub(fetched)}, Apply: metav1.Duration{Duration: time.Since(planned)}}
	timing := fmt.Sprintf("fetch %s, plan %s, apply %s", st.Timings.Fetch.Round(time.Millisecond),
		st.Timings.Plan.Round(time.Millisecond), st.Timings.Apply.Round(time.Millisecond))
	switch {
	case failed > 0:
		st.Phase, st.LastError = PhaseFailed, st.Errors[0]
		st.Message = fmt.Sprintf("revision %s applied with %d failed objects (%s)", short(st.Revision), failed, timing)
		c.recorder.Event(c.ref(src), corev1.EventTypeWarning, "ApplyFailed", truncate(st.Message+": "+st.LastError, 1000))
	case len(held) > 0:
		st.Phase, st.LastError = PhaseOutOfSync, ""
		st.Message = fmt.Sprintf("revision %s: %d objects changed outside git (selfHeal is off)", short(st.Revision), len(held))
	default:
		st.LastError = ""
		st.Phase = map[string]string{Healthy: PhaseSynced, Progressing: PhaseProgressing, Degraded: PhaseDegraded}[st.Health]
		st.Message = fmt.Sprintf("revision %s %q applied (%s)", short(st.Revision), rev.Subject, timing)
		if newRevision {
			c.recorder.Event(c.ref(src), corev1.EventTypeNormal, "Synced", st.Message)
		}
	}
	if failed == 0 {
		st.AppliedRevision = st.Revision
	}
}

// reportDrift commits the drift found in this sync to the source's driftBranch (if
// it has one) and pushes it: what was changed outside git, as it was live.
func (c *Controller) reportDrift(ctx context.Context, src *berthv1.GitSource, m *Mirror, auth transport.AuthMethod, rev Revision, desired []*Desired, results []Result, held []Action, newRevision bool) {
	if src.Spec.DriftBranch == "" {
		return
	}
	drifted := map[ID]*unstructured.Unstructured{}
	var lines []string
	note := func(a Action) {
		drifted[a.ID] = a.Live
		lines = append(lines, fmt.Sprintf("%s: %s", a.ID, strings.Join(patchPaths(a.Patch), ", ")))
	}
	for _, r := range results {
		if r.Action.Type == Update && !newRevision {
			note(r.Action)
		}
	}
	for _, a := range held {
		note(a)
	}
	if len(drifted) == 0 {
		return
	}
	files, err := driftFiles(desired, drifted)
	if err == nil {
		msg := fmt.Sprintf("berth: drift from %s in %d objects\n\nChanged outside git, as found live:\n%s\n",
			short(rev.Hash.String()), len(drifted), strings.Join(lines, "\n"))
		var commit plumbing.Hash
		if commit, err = m.DriftReport(rev.Hash, src.Spec.DriftBranch, src.Spec.DriftAuthor, files, msg); err == nil && !commit.IsZero() {
			if err = m.Push(ctx, auth, src.Spec.DriftBranch); err == nil {
				c.recorder.Eventf(c.ref(src), corev1.EventTypeNormal, "DriftCommitted", "drift of %d objects committed to branch %s as %s",
					len(drifted), src.Spec.DriftBranch, short(commit.String()))
			}
		}
	}
	if err != nil {
		c.recorder.Eventf(c.ref(src), corev1.EventTypeWarning, "DriftCommitFailed", "commit drift to %s: %v", src.Spec.DriftBranch, err)
		c.log.Warn("sync: drift commit failed", "source", src.Namespace+"/"+src.Name, "err", err)
	}
}

// reported says whether the last status already listed this out-of-sync object with
// the same drift, so that it is announced once, not on every sync.
func reported(prev []berthv1.ManagedObject, mo berthv1.ManagedObject) bool {
	for _, p := range prev {
		if p.Kind == mo.Kind && p.Namespace == mo.Namespace && p.Name == mo.Name && p.State == StateOutOfSync {
			return strings.Join(p.Drift, ",") == strings.Join(mo.Drift, ",")
		}
	}
	return false
}

// endpointsLookup says whether a Service has a ready endpoint, from the EndpointSlices
// of the cluster, listed once, when the first Service asks.
func (c *Controller) endpointsLookup(ctx context.Context) func(ns, svc string) bool {
	var once gosync.Once
	ready := map[string]bool{}
	return func(ns, svc string) bool {
		once.Do(func() {
			l, err := c.client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name"})
			if err != nil {
				return
			}
			for _, s := range l.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready == nil || *e.Conditions.Ready {
						ready[s.Namespace+"/"+s.Labels["kubernetes.io/service-name"]] = true
					}
				}
			}
		})
		return ready[ns+"/"+svc]
	}
}

// filter applies the source's policy: without prune, nothing is deleted; without
// selfHeal, drift in a revision already applied is held back and reported, not undone.
func filter(src *berthv1.GitSource, actions []Action, newRevision bool) (apply, held []Action) {
	prune := src.Spec.Prune == nil || *src.Spec.Prune
	heal := src.Spec.SelfHeal == nil || *src.Spec.SelfHeal
	for _, a := range actions {
		switch {
		case a.Type == Delete && !prune:
		case a.Type == Update && !heal && !newRevision:
			held = append(held, a)
		default:
			apply = append(apply, a)
		}
	}
	return apply, held
}

// remember notes the version at which each object of a sync matches git: as found
// when unchanged, as written when created or updated; it forgets the rest.
func (s *sourceState) remember(results []Result) {
	next := make(map[ID]string, len(results))
	for _, r := range results {
		switch {
		case r.Err != nil:
		case r.Action.Type == Unchanged && r.Action.Live != nil:
			next[r.Action.ID] = r.Action.Live.GetResourceVersion()
		case r.Obj != nil:
			next[r.Action.ID] = r.Obj.GetResourceVersion()
		}
	}
	s.inSync = next
}

// toDesired turns loaded manifests into the plan's input, decoding only objects it
// has not seen (the manifest cache hands back the same objects for unchanged files).
func (s *sourceState) toDesired(objs []*manifests.Object) ([]*Desired, error) {
	out := make([]*Desired, 0, len(objs))
	next := make(map[*manifests.Object]*Desired, len(objs))
	for _, o := range objs {
		d, ok := s.desired[o]
		if !ok {
			u := &unstructured.Unstructured{}
			if err := json.Unmarshal(o.Raw, &u.Object); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", o.File, o.Line, err)
			}
			d = &Desired{Kind: o.Kind, Obj: u, File: o.File, Line: o.Line}
		}
		next[o] = d
		out = append(out, d)
	}
	s.desired = next
	return out, nil
}

// namespaces returns a lookup of the namespaces that exist now.
func (c *Controller) namespaces(ctx context.Context) (func(string) bool, error) {
	l, err := c.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	set := map[string]bool{}
	for _, ns := range l.Items {
		set[ns.Name] = true
	}
	return func(n string) bool { return set[n] }, nil
}

// managedObject is the status entry of one applied action.
func managedObject(r Result) berthv1.ManagedObject {
	a := r.Action
	mo := berthv1.ManagedObject{Kind: a.ID.Kind, Namespace: a.ID.Namespace, Name: a.ID.Name}
	if a.Kind != nil {
		mo.APIVersion = a.Kind.GroupVersion.String()
	}
	mo.State = map[ActionType]string{Create: StateCreated, Update: StateConfigured, Unchanged: StateUnchanged, Delete: StatePruned}[a.Type]
	if r.Err != nil {
		mo.State, mo.Message = StateFailed, apiMessage(r.Err)
	}
	return mo
}

// writeStatus records a source's status through /status.
func (c *Controller) writeStatus(ctx context.Context, src *berthv1.GitSource, st *berthv1.GitSourceStatus) {
	out := src.DeepCopy()
	out.Status = *st
	out.SetGroupVersionKind(berthv1.SchemeGroupVersion.WithKind("GitSource"))
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(out)
	if err != nil {
		c.log.Error("sync: encode status", "err", err)
		return
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetResourceVersion("") // last writer wins: the status is ours alone
	if _, err := c.dyn.Resource(gitSourcesGVR).Namespace(src.Namespace).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		c.log.Warn("sync: write status", "source", src.Namespace+"/"+src.Name, "err", err)
	}
}

// ref is the object events are about.
func (c *Controller) ref(src *berthv1.GitSource) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: berthv1.SchemeGroupVersion.String(), Kind: "GitSource",
		Namespace: src.Namespace, Name: src.Name, UID: src.UID}
}

// errorLines lists the separate errors of a revision.
func errorLines(err error) []string {
	var many Errors
	var loadErrs manifests.Errors
	switch {
	case errors.As(err, &loadErrs):
		out := make([]string, len(loadErrs))
		for i, e := range loadErrs {
			out[i] = e.Error()
		}
		return out
	case errors.As(err, &many):
		out := make([]string, len(many))
		for i, e := range many {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

func short(rev string) string {
	if len(rev) > 8 {
		return rev[:8]
	}
	return rev
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
