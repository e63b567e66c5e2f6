package sync

import (
	"encoding/json"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/berth-dev/berth/apiserver/registry"
)

// SourceLabel marks the objects a GitSource owns; its value is the source's name.
const SourceLabel = "berth.dev/source"

// SourceNamespaceLabel is the namespace of the GitSource that owns an object: sources
// of one name in two namespaces are two owners.
const SourceNamespaceLabel = "berth.dev/source-namespace"

// Source names the GitSource a plan is for.
type Source struct {
	Namespace, Name string
}

func (s Source) String() string { return s.Namespace + "/" + s.Name }

// Selector is the label selector of the objects the source owns.
func (s Source) Selector() string {
	return SourceLabel + "=" + s.Name + "," + SourceNamespaceLabel + "=" + s.Namespace
}

// owns says whether obj is the source's (see ownerOf).
func (s Source) owns(obj metav1.Object) bool {
	owner, ok := ownerOf(obj)
	return ok && owner == s
}

// ownerOf returns the source that owns obj, if any: the one its labels
// name, when it also carries the configuration a source last applied.
// Controllers copy labels onto what they make (the EndpointSlice
// controller copies a Service's labels onto its slices, as Kubernetes'
// does), never that annotation: such objects are not the source's, and
// are neither pruned nor taken for drift.
func ownerOf(obj metav1.Object) (Source, bool) {
	labels := obj.GetLabels()
	name := labels[SourceLabel]
	if _, applied := obj.GetAnnotations()[LastAppliedAnnotation]; name == "" || !applied {
		return Source{}, false
	}
	return Source{Namespace: labels[SourceNamespaceLabel], Name: name}, true
}

// LastAppliedAnnotation holds the configuration a source last applied to an object.
const LastAppliedAnnotation = "berth.dev/last-applied"

// ID names an object across kinds.
type ID struct {
	Group, Kind, Namespace, Name string
}

func (id ID) String() string {
	k := id.Kind
	if id.Group != "" {
		k = id.Group + "/" + id.Kind
	}
	if id.Namespace == "" {
		return k + " " + id.Name
	}
	return k + " " + id.Namespace + "/" + id.Name
}

// IDOf returns the ID of an object.
func IDOf(u *unstructured.Unstructured) ID {
	gvk := u.GroupVersionKind()
	return ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// Desired is one object as git declares it.
type Desired struct {
	Kind *registry.Kind
	// Obj is the manifest as written, with its namespace filled in.
	Obj  *unstructured.Unstructured
	File string
	Line int
}

// ActionType says what a plan does to an object.
type ActionType string

// The action types, in the words `kubectl apply` prints.
const (
	Create    ActionType = "create"
	Update    ActionType = "update"
	Delete    ActionType = "delete"
	Unchanged ActionType = "unchanged"
)

// Action is one step of a plan.
type Action struct {
	Type ActionType
	ID   ID
	Kind *registry.Kind
	// Desired is the object to create, labelled and annotated (Create); for Update
	// the configuration being applied.
	Desired *unstructured.Unstructured
	// Live is the object as it is (Update, Delete, Unchanged).
	Live *unstructured.Unstructured
	// Patch is the strategic merge patch that an Update sends.
	Patch []byte
	// File and Line say where git declares the object (not for Delete).
	File string
	Line int
}

// OwnershipError says an object of the source is owned by another source.
type OwnershipError struct {
	ID     ID
	Owner  Source
	File   string
	Line   int
	Source Source
}

func (e *OwnershipError) Error() string {
	return fmt.Sprintf("%s:%d: %s: owned by source %q, not %q: remove it from one of the two repositories",
		e.File, e.Line, e.ID, e.Owner.String(), e.Source.String())
}

// Plan compares what git declares for source with the live objects: live holds the
// objects the source owns and the live state of every desired object (owned or not).
// It returns creates and updates in the order desired is given (the caller orders it
// for dependencies), then deletes of owned objects that left git, and ownership
// errors for desired objects another source owns.
func Plan(source Source, desired []*Desired, live map[ID]*unstructured.Unstructured) ([]Action, error) {
	return PlanKnown(source, desired, live, nil)
}

// PlanKnown is Plan that trusts inSync: the resourceVersion at which each object was
// last seen to match its configuration. An object still at that version, whose
// configuration is the one it carries, is unchanged without computing a patch.
func PlanKnown(source Source, desired []*Desired, live map[ID]*unstructured.Unstructured, inSync map[ID]string) ([]Action, error) {
	var actions []Action
	var errs []error
	wanted := map[ID]bool{}
	for _, d := range desired {
		id := IDOf(d.Obj)
		wanted[id] = true
		applied, modified, err := configuration(source, d.Obj)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", d.File, d.Line, id, err)
		}
		cur := live[id]
		a := Action{ID: id, Kind: d.Kind, Desired: modified, Live: cur, File: d.File, Line: d.Line}
		if cur == nil {
			a.Type = Create
			actions = append(actions, a)
			continue
		}
		if owner, owned := ownerOf(cur); owned && owner != source {
			errs = append(errs, &OwnershipError{ID: id, Owner: owner, File: d.File, Line: d.Line, Source: source})
			continue
		}
		last := cur.GetAnnotations()[LastAppliedAnnotation]
		if rv, ok := inSync[id]; ok && rv == cur.GetResourceVersion() && last == string(applied) {
			a.Type = Unchanged
			actions = append(actions, a)
			continue
		}
		patch, err := threeWayPatch(d.Kind, last, applied, modified, cur)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", d.File, d.Line, id, err)
		}
		a.Type, a.Patch = Update, patch
		if string(patch) == "{}" {
			a.Type, a.Patch = Unchanged, nil
		}
		actions = append(actions, a)
	}
	var prune []Action
	for id, cur := range live {
		if wanted[id] || !source.owns(cur) {
			continue
		}
		a := Action{Type: Delete, ID: id, Live: cur}
		a.Kind = kindOf(a)
		prune = append(prune, a)
	}
	sort.Slice(prune, func(i, j int) bool { return prune[i].ID.String() < prune[j].ID.String() })
	actions = append(actions, prune...)
	if len(errs) > 0 {
		return actions, joinErrors(errs)
	}
	return actions, nil
}

// configuration returns the configuration git declares for an object, labelled for
// the source (applied, the annotation's value), and the same with the annotation
// set (modified, what is sent).
func configuration(source Source, obj *unstructured.Unstructured) (applied []byte, modified *unstructured.Unstructured, err error) {
	u := obj.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "status")
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[SourceLabel] = source.Name
	labels[SourceNamespaceLabel] = source.Namespace
	u.SetLabels(labels)
	ann := u.GetAnnotations()
	delete(ann, LastAppliedAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	if applied, err = json.Marshal(u.Object); err != nil {
		return nil, nil, err
	}
	if ann == nil {
		ann = map[string]string{}
	}
	ann[LastAppliedAnnotation] = string(applied)
	u.SetAnnotations(ann)
	return applied, u, nil
}

// threeWayPatch is the strategic merge patch from live to the new configuration,
// deleting what the last applied configuration set and the new one does not.
func threeWayPatch(k *registry.Kind, lastApplied string, applied []byte, modified, live *unstructured.Unstructured) ([]byte, error) {
	mod, err := json.Marshal(modified.Object)
	if err != nil {
		return nil, err
	}
	cur, err := json.Marshal(live.Object)
	if err != nil {
		return nil, err
	}
	var original []byte
	if lastApplied != "" {
		original = []byte(lastApplied)
	}
	meta, err := strategicpatch.NewPatchMetaFromStruct(k.New())
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateThreeWayMergePatch(original, mod, cur, meta, true)
}
