package controllers

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Annotations the Deployment controller keeps on Deployments and their ReplicaSets.
const (
	// revisionAnnotation orders a Deployment's ReplicaSets; the Deployment carries
	// the revision of its current template.
	revisionAnnotation = "deployment.kubernetes.io/revision"
	// revisionHistoryAnnotation lists the earlier revisions a ReplicaSet served
	// (it gets a new revision each time a rollback returns to its template).
	revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// desiredReplicasAnnotation is the Deployment's replicas when a ReplicaSet was
	// last sized: a different value means a scaling event, not a rollout.
	desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// maxReplicasAnnotation is replicas + maxSurge at that time, for proportional
	// scaling.
	maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
	// maxRevisionHistoryChars bounds the revision-history annotation.
	maxRevisionHistoryChars = 2000
)

// annotationsNotCopied are the Deployment annotations not copied to its ReplicaSets.
var annotationsNotCopied = map[string]bool{
	corev1.LastAppliedConfigAnnotation: true,
	revisionAnnotation:                 true,
	revisionHistoryAnnotation:          true,
	desiredReplicasAnnotation:          true,
	maxReplicasAnnotation:              true,
	appsv1.DeprecatedRollbackTo:        true,
}

// podTemplateHash names a template's ReplicaSet: FNV-32a over the template (and the
// collision count, when a hash collided before), as a short DNS-safe string.
func podTemplateHash(tmpl *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(tmpl) // encoding/json sorts map keys: stable for one template
	h.Write(b)
	if collisionCount != nil {
		var buf [4]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		h.Write(buf[:])
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// templatesEqual says whether two pod templates are the same but for the
// pod-template-hash label (a Deployment's template does not carry it).
func templatesEqual(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return equality.Semantic.DeepEqual(a, b)
}

// sortByCreation sorts ReplicaSets oldest first (ties by name).
func sortByCreation(list []*appsv1.ReplicaSet) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// findNewReplicaSet returns the ReplicaSet running d's current template (the
// oldest, should there be several), or nil.
func findNewReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), rsList...)
	sortByCreation(sorted)
	for _, rs := range sorted {
		if templatesEqual(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// findOldReplicaSets returns every ReplicaSet of d but the new one.
func findOldReplicaSets(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	newRS := findNewReplicaSet(d, rsList)
	var old []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.UID != newRS.UID {
			old = append(old, rs)
		}
	}
	return old
}

// revisionOf reads an object's revision annotation (0 when absent or invalid).
func revisionOf(m metav1.Object) int64 {
	v, err := strconv.ParseInt(m.GetAnnotations()[revisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// maxRevision is the highest revision among ReplicaSets.
func maxRevision(list []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range list {
		m = max(m, revisionOf(rs))
	}
	return m
}

// setNewReplicaSetAnnotations copies d's annotations to its new ReplicaSet, raises
// the ReplicaSet's revision to newRevision (recording the one it had in
// revision-history: a rollback) and, for a ReplicaSet about to be created, sets the
// replicas annotations. It reports whether anything changed.
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision int64, exists bool) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if !annotationsNotCopied[k] && rs.Annotations[k] != v {
			rs.Annotations[k] = v
			changed = true
		}
	}
	old, had := rs.Annotations[revisionAnnotation]
	oldRev, err := strconv.ParseInt(old, 10, 64)
	if err != nil && old != "" {
		return changed // not ours to fix
	}
	if oldRev < newRevision {
		rs.Annotations[revisionAnnotation] = strconv.FormatInt(newRevision, 10)
		changed = true
		if had {
			rs.Annotations[revisionHistoryAnnotation] = appendRevisionHistory(rs.Annotations[revisionHistoryAnnotation], old)
		}
	}
	if !exists && setReplicasAnnotations(rs, deploymentReplicas(d), deploymentReplicas(d)+deploymentMaxSurge(d)) {
		changed = true
	}
	return changed
}

// appendRevisionHistory appends rev to a comma-separated history, dropping the
// oldest entries to stay within maxRevisionHistoryChars.
func appendRevisionHistory(history, rev string) string {
	var revs []string
	if history != "" {
		revs = strings.Split(history, ",")
	}
	revs = append(revs, rev)
	for len(revs) > 1 && len(strings.Join(revs, ",")) > maxRevisionHistoryChars {
		revs = revs[1:]
	}
	return strings.Join(revs, ",")
}

// setReplicasAnnotations sets the desired- and max-replicas annotations; it
// reports whether they changed.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	if !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false
	}
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[desiredReplicasAnnotation] = strconv.Itoa(int(desired))
	rs.Annotations[maxReplicasAnnotation] = strconv.Itoa(int(maxReplicas))
	return true
}

// replicasAnnotationsNeedUpdate says whether the replicas annotations differ.
func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[desiredReplicasAnnotation] != strconv.Itoa(int(desired)) ||
		rs.Annotations[maxReplicasAnnotation] != strconv.Itoa(int(maxReplicas))
}

// replicasAnnotation reads an integer replicas annotation.
func replicasAnnotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, err := strconv.ParseInt(rs.Annotations[key], 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

// setDeploymentRevision writes the revision annotation on d when it differs. The
// annotation lives in metadata, so it is written with a patch of the Deployment
// (preconditioned on d's resourceVersion), not with the status.
func (c *deploymentController) setDeploymentRevision(ctx context.Context, d *appsv1.Deployment, revision string) error {
	if d.Annotations[revisionAnnotation] == revision {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations":     map[string]string{revisionAnnotation: revision},
		"resourceVersion": d.ResourceVersion,
	}})
	out, err := c.client.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("set revision of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ObjectMeta = *out.ObjectMeta.DeepCopy()
	return nil
}

// allReplicaSets returns d's new ReplicaSet (nil if there is none and create is
// false) and its old ones, with the revisions of the new one and of d brought up to
// date.
func (c *deploymentController) allReplicaSets(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	old := findOldReplicaSets(d, rsList)
	newRS, err := c.newReplicaSet(ctx, d, rsList, old, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, old, nil
}

// newReplicaSet returns the ReplicaSet of d's current template. An existing one
// gets revision max(old)+1 when it is behind (a rollback to it) and d's current
// annotations; a missing one is created when create is set, sized as the strategy
// allows (sets Progressing NewReplicaSetCreated, or FoundNewReplicaSet the first
// time an existing one is seen; ReplicaSetCreateError when creation fails).
func (c *deploymentController) newReplicaSet(ctx context.Context, d *appsv1.Deployment, rsList, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	existing := findNewReplicaSet(d, rsList)
	newRevision := maxRevision(oldRSs) + 1
	if existing != nil {
		rs := existing.DeepCopy()
		annotationsChanged := setNewReplicaSetAnnotations(d, rs, newRevision, true)
		if annotationsChanged || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
			}
			// The update brings this sync back (an informer event): the Deployment's
			// revision follows then.
			return out, nil
		}
		if err := c.setDeploymentRevision(ctx, d, rs.Annotations[revisionAnnotation]); err != nil {
			return nil, err
		}
		if hasProgressDeadline(d) && deploymentCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			setDeploymentCondition(&d.Status, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue,
				reasonFoundNewReplicaSet, fmt.Sprintf("Found new replica set %q", rs.Name), c.now()))
			if err := c.writeStatus(ctx, d); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}

	hash := podTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = maps.Clone(d.Spec.Template.Labels)
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	zero := int32(0)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{controllerRef(d, deploymentKind)},
			Labels:          maps.Clone(tmpl.Labels),
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: d.Spec.MinReadySeconds, Selector: selector, Template: tmpl},
	}
	replicas := newReplicaSetReplicas(d, append(append([]*appsv1.ReplicaSet(nil), oldRSs...), rs), rs)
	rs.Spec.Replicas = &replicas
	setNewReplicaSetAnnotations(d, rs, newRevision, false)

	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	alreadyExisted := false
	switch {
	case apierrors.IsAlreadyExists(err):
		// Our own creation not seen yet by the cache, or a hash collision.
		alreadyExisted = true
		found, getErr := c.sets.ReplicaSets(rs.Namespace).Get(rs.Name)
		if apierrors.IsNotFound(getErr) {
			found, getErr = c.client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		}
		if getErr != nil {
			return nil, fmt.Errorf("get replicaset %s/%s: %w", rs.Namespace, rs.Name, getErr)
		}
		if ref := metav1.GetControllerOfNoCopy(found); ref != nil && ref.UID == d.UID && templatesEqual(&d.Spec.Template, &found.Spec.Template) {
			created, err = found, nil
			break
		}
		// Another template hashes to this name: count the collision, so the next
		// sync hashes differently.
		n := int32(0)
		if d.Status.CollisionCount != nil {
			n = *d.Status.CollisionCount
		}
		n++
		d.Status.CollisionCount = &n
		if werr := c.writeStatus(ctx, d); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("replicaset name %s/%s collides with another template (collisionCount now %d): %w", rs.Namespace, rs.Name, n, err)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setDeploymentCondition(&d.Status, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse,
				reasonReplicaSetCreateError, msg, c.now()))
			_ = c.writeStatus(ctx, d) // the creation error is the one to report
		}
		c.rec.Event(d, corev1.EventTypeWarning, reasonReplicaSetCreateError, msg)
		return nil, fmt.Errorf("create replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	if !alreadyExisted && replicas > 0 {
		c.rec.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s to %d from 0", created.Name, replicas)
	}
	if err := c.setDeploymentRevision(ctx, d, created.Annotations[revisionAnnotation]); err != nil {
		return nil, err
	}
	if !alreadyExisted && hasProgressDeadline(d) {
		setDeploymentCondition(&d.Status, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue,
			reasonNewReplicaSetCreated, fmt.Sprintf("Created new replica set %q", created.Name), c.now()))
		if err := c.writeStatus(ctx, d); err != nil {
			return nil, err
		}
	}
	return created, nil
}
