package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// planSyncResult is what a sync of head would do, as PlanObjects, with the
// actions themselves (for the fit check).
type planSyncResult struct {
	objs      []PlanObject
	unchanged int
	problems  []PlanProblem
	actions   []sync.Action
	// changes are the fields each create and update changes, by object.
	changes map[sync.ID][]PlanFieldChange
}

// planSync runs sync's own planning (three-way merge against the last-applied
// annotation, ownership, prune) for desired against live, and turns each action
// into a PlanObject with the fields it changes. Creates of a kind the token may
// not read are reported unreadable instead: their live state is unknown.
func planSync(source sync.Source, desired []*sync.Desired, live map[sync.ID]*unstructured.Unstructured, unreadable func(*registry.Kind) bool) (*planSyncResult, error) {
	actions, err := sync.Plan(source, desired, live)
	res := &planSyncResult{actions: actions, changes: map[sync.ID][]PlanFieldChange{}}
	if err != nil {
		probs, ok := planOwnershipProblems(err)
		if !ok {
			return nil, fmt.Errorf("plan: %w", err)
		}
		res.problems = probs
	}
	for _, a := range actions {
		po := PlanObject{Group: a.ID.Group, Kind: a.ID.Kind, Namespace: a.ID.Namespace, Name: a.ID.Name, File: a.File, Line: a.Line}
		switch a.Type {
		case sync.Unchanged:
			res.unchanged++
			continue
		case sync.Create:
			if a.Kind != nil && unreadable(a.Kind) {
				po.Action = PlanUnreadable
				po.Note = fmt.Sprintf("%s cannot be read with these credentials: not compared with the live cluster", a.Kind.Resource)
				break
			}
			po.Action = PlanCreate
			po.Changes = planDiff(a.Kind, nil, a.Desired.Object)
		case sync.Update:
			after, err := planPatched(a.Kind, a.Live, a.Patch)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", a.File, a.Line, a.ID, err)
			}
			po.Action = PlanUpdate
			po.Changes = planDiff(a.Kind, planServerForm(a.Kind, a.Live.Object), planServerForm(a.Kind, after))
			if len(po.Changes) == 0 {
				// The patch changes nothing the server keeps (such as a Secret's
				// stringData, which it folds into data, or "1000m" for "1"), or
				// only berth's record of the applied configuration.
				res.unchanged++
				continue
			}
		case sync.Delete:
			po.Action = PlanDelete
			po.Note = fmt.Sprintf("pruned: owned by source %s and no longer in git", source)
		}
		res.changes[a.ID] = po.Changes
		res.objs = append(res.objs, po)
	}
	return res, nil
}

// planOwnershipProblems turns sync.Plan's ownership errors into problems; ok is
// false when err holds anything else.
func planOwnershipProblems(err error) (probs []PlanProblem, ok bool) {
	errs := []error{err}
	var many sync.Errors
	if errors.As(err, &many) {
		errs = many
	}
	for _, e := range errs {
		var own *sync.OwnershipError
		if !errors.As(e, &own) {
			return nil, false
		}
		prefix := fmt.Sprintf("%s:%d: %s: ", own.File, own.Line, own.ID)
		probs = append(probs, PlanProblem{File: own.File, Line: own.Line, Object: own.ID.String(),
			Message: strings.TrimPrefix(own.Error(), prefix)})
	}
	return probs, true
}

// planPatched applies a strategic merge patch to a live object, as the API
// server will: the object as the sync leaves it.
func planPatched(k *registry.Kind, live *unstructured.Unstructured, patch []byte) (map[string]any, error) {
	cur, err := json.Marshal(live.Object)
	if err != nil {
		return nil, fmt.Errorf("encode live object: %w", err)
	}
	out, err := strategicpatch.StrategicMergePatch(cur, patch, k.New())
	if err != nil {
		return nil, fmt.Errorf("apply the patch to the live object: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("decode patched object: %w", err)
	}
	return m, nil
}

// planServerForm is an object as the API server would store it: decoded into
// its type (quantities in canonical form), defaulted (a Secret's stringData
// folded into data), encoded again. Objects that do not decode stay as they are.
func planServerForm(k *registry.Kind, m map[string]any) map[string]any {
	obj := k.New()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, obj); err != nil {
		return m
	}
	if k.Default != nil {
		k.Default(obj)
	}
	out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return m
	}
	return out
}

// planDrift lists the source's live objects that differ from the configuration
// berth last applied to them (its annotation), as sync's drift detection sees
// them: the fields a sync would restore, old as applied, new as live.
func planDrift(source sync.Source, live map[sync.ID]*unstructured.Unstructured) ([]PlanObject, error) {
	var out []PlanObject
	for id, u := range live {
		labels := u.GetLabels()
		if labels[sync.SourceLabel] != source.Name || labels[sync.SourceNamespaceLabel] != source.Namespace {
			continue
		}
		last := u.GetAnnotations()[sync.LastAppliedAnnotation]
		k := registry.ByGroupVersionKind(u.GroupVersionKind())
		if last == "" || k == nil {
			continue
		}
		applied := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(last), &applied.Object); err != nil {
			return nil, fmt.Errorf("%s: decode its %s annotation: %w", id, sync.LastAppliedAnnotation, err)
		}
		actions, err := sync.Plan(source, []*sync.Desired{{Kind: k, Obj: applied}}, map[sync.ID]*unstructured.Unstructured{id: u})
		if err != nil {
			return nil, fmt.Errorf("%s: compare with its last-applied configuration: %w", id, err)
		}
		for _, a := range actions {
			if a.Type != sync.Update || a.ID != id {
				continue
			}
			restored, err := planPatched(k, u, a.Patch)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			changes := planDiff(k, planServerForm(k, restored), planServerForm(k, u.Object))
			if len(changes) == 0 {
				continue
			}
			out = append(out, PlanObject{Action: PlanDrift, Group: id.Group, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name,
				Changes: changes})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, nil
}
