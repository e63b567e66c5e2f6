package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/test/hollow"
)

// newDeployment is a Deployment of replicas pods labelled app=name running image,
// with the pod annotations given (hollow.berth.dev/... steer the hollow nodes).
func newDeployment(name, image string, replicas int32, podAnnotations map[string]string) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl, Annotations: podAnnotations},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// createDeployment creates d in ns.
func (c *cluster) createDeployment(t *testing.T, ns string, d *appsv1.Deployment) {
	t.Helper()
	if _, err := c.Client.AppsV1().Deployments(ns).Create(testCtx(t), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", d.Name, err)
	}
}

// updateDeployment applies change to the Deployment, retrying on conflicts.
func (c *cluster) updateDeployment(t *testing.T, ns, name string, change func(*appsv1.Deployment)) {
	t.Helper()
	for {
		d, err := c.Client.AppsV1().Deployments(ns).Get(testCtx(t), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get deployment %s: %v", name, err)
		}
		change(d)
		_, err = c.Client.AppsV1().Deployments(ns).Update(testCtx(t), d, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "modified") {
			t.Fatalf("update deployment %s: %v", name, err)
		}
	}
}

// waitRolledOut waits until the Deployment has observed its spec and runs exactly
// replicas pods, all of its current template, available, with no other pod left
// (terminating ones included), and its Progressing condition says so. It returns
// the Deployment and its new ReplicaSet.
func (c *cluster) waitRolledOut(t *testing.T, ns, name string) (*appsv1.Deployment, *appsv1.ReplicaSet) {
	t.Helper()
	var d *appsv1.Deployment
	var newRS *appsv1.ReplicaSet
	eventually(t, 30*time.Second, "deployment "+name+" rolled out", func() (bool, string) {
		var err error
		d, err = c.Client.AppsV1().Deployments(ns).Get(c.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s, want := d.Status, *d.Spec.Replicas
		detail := fmt.Sprintf("generation %d observed %d, replicas %d updated %d available %d, want %d",
			d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, want)
		if s.ObservedGeneration < d.Generation || s.Replicas != want || s.UpdatedReplicas != want || s.AvailableReplicas != want {
			return false, detail
		}
		if p := deploymentCond(d, appsv1.DeploymentProgressing); p == nil || p.Reason != "NewReplicaSetAvailable" {
			return false, fmt.Sprintf("Progressing %+v", p)
		}
		if a := deploymentCond(d, appsv1.DeploymentAvailable); a == nil || a.Status != corev1.ConditionTrue {
			return false, fmt.Sprintf("Available %+v", a)
		}
		newRS = c.currentReplicaSet(t, d)
		if newRS == nil {
			return false, "no ReplicaSet with the current template"
		}
		hash := newRS.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		pods := c.podsOf(t, ns, "app="+name)
		for _, p := range pods {
			if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash || p.DeletionTimestamp != nil || !podReady(&p) {
				return false, fmt.Sprintf("pod %s (hash %s, deleting %v, ready %v) left", p.Name,
					p.Labels[appsv1.DefaultDeploymentUniqueLabelKey], p.DeletionTimestamp != nil, podReady(&p))
			}
		}
		if len(pods) != int(want) {
			return false, fmt.Sprintf("%d pods, want %d", len(pods), want)
		}
		return true, ""
	})
	return d, newRS
}

// currentReplicaSet is the ReplicaSet of d whose revision is d's.
func (c *cluster) currentReplicaSet(t *testing.T, d *appsv1.Deployment) *appsv1.ReplicaSet {
	t.Helper()
	for _, rs := range c.replicaSetsOf(t, d) {
		if rs.Annotations["deployment.kubernetes.io/revision"] == d.Annotations["deployment.kubernetes.io/revision"] {
			return rs
		}
	}
	return nil
}

// replicaSetsOf lists the ReplicaSets d controls.
func (c *cluster) replicaSetsOf(t *testing.T, d *appsv1.Deployment) []*appsv1.ReplicaSet {
	t.Helper()
	list, err := c.Client.AppsV1().ReplicaSets(d.Namespace).List(testCtx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list replicasets: %v", err)
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], d) {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// deploymentCond returns the Deployment condition of a type, or nil.
func deploymentCond(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// waitEvent waits for an event about the object named name whose reason and
// message are as given.
func (c *cluster) waitEvent(t *testing.T, ns, name, reason, message string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("event %s %q", reason, message), func() (bool, string) {
		list, err := c.Client.CoreV1().Events(ns).List(c.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				if e.Message == message {
					return true, ""
				}
				seen = append(seen, e.Message)
			}
		}
		return false, fmt.Sprintf("%s events: %q", reason, seen)
	})
}

// podWatch is a watch of a namespace's pods that checks every state it passes
// through.
type podWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex // guards the fields below
	events     int
	violations []string
}

// watchPods follows the pods of ns from a consistent start (a list, then a watch
// from its resourceVersion) and calls check, in order, after every change with the
// pods as they then are; check returns a violation, or "". The watch ends with the
// test, or with result.
func (c *cluster) watchPods(t *testing.T, ns string, check func(pods map[string]*corev1.Pod) string) *podWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(c.ctx)
	w := &podWatch{cancel: cancel, done: make(chan struct{})}
	list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		pods[list.Items[i].Name] = &list.Items[i]
	}
	w.observe(check(pods))
	rv := list.ResourceVersion
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			wi, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err != nil {
				if ctx.Err() == nil {
					w.observe("watch: " + err.Error())
				}
				return
			}
			for ev := range wi.ResultChan() {
				p, ok := ev.Object.(*corev1.Pod)
				if !ok {
					if ev.Type == watch.Error {
						if ctx.Err() == nil { // else: the watch was stopped
							w.observe(fmt.Sprintf("watch error: %v", ev.Object))
						}
						wi.Stop()
						return
					}
					continue
				}
				rv = p.ResourceVersion
				if ev.Type == watch.Deleted {
					delete(pods, p.Name)
				} else {
					pods[p.Name] = p
				}
				w.observe(check(pods))
			}
			wi.Stop()
		}
	}()
	t.Cleanup(w.stop)
	return w
}

// observe counts one check and keeps its violation, if any.
func (w *podWatch) observe(violation string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events++
	if violation != "" && len(w.violations) < 20 {
		w.violations = append(w.violations, violation)
	}
}

// stop ends the watch.
func (w *podWatch) stop() {
	w.cancel()
	<-w.done
}

// result stops the watch and returns how many states were checked and the
// violations found.
func (w *podWatch) result() (int, []string) {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events, slices.Clone(w.violations)
}

func TestDeploymentSpreadsAndScales(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 3, hollow.Options{})
	ns := c.namespace(t)
	c.createDeployment(t, ns, newDeployment("web", "web:v1", 3, nil))
	d, rs := c.waitRolledOut(t, ns, "web")

	nodes := map[string]bool{}
	for _, p := range c.podsOf(t, ns, "app=web") {
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != 3 {
		t.Errorf("3 pods on %d nodes %v, want one per node", len(nodes), nodes)
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "1" || rs.Name != "web-"+rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] {
		t.Errorf("revision %q, ReplicaSet %s (labels %v)", d.Annotations["deployment.kubernetes.io/revision"], rs.Name, rs.Labels)
	}
	c.waitEvent(t, ns, "web", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s to 3 from 0", rs.Name))

	scale := func(n int32) {
		t.Helper()
		_, err := c.Client.AppsV1().Deployments(ns).UpdateScale(testCtx(t), "web", &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n},
		}, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("scale to %d: %v", n, err)
		}
	}
	scale(5)
	c.waitRolledOut(t, ns, "web")
	c.waitEvent(t, ns, "web", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s to 5 from 3", rs.Name))
	scale(1)
	d, _ = c.waitRolledOut(t, ns, "web")
	c.waitEvent(t, ns, "web", "ScalingReplicaSet", fmt.Sprintf("Scaled down replica set %s to 1 from 5", rs.Name))
	if s := d.Status; s.Replicas != 1 || s.ReadyReplicas != 1 || s.UnavailableReplicas != 0 {
		t.Errorf("status %+v", s)
	}
	if sets := c.replicaSetsOf(t, d); len(sets) != 1 {
		t.Errorf("%d ReplicaSets after scaling, want 1", len(sets))
	}
}

func TestDeploymentRollingUpdateBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		replicas              int32
		surge, unavailable    intstr.IntOrString
		maxPods, minReadyPods int
	}{
		{"surge1-unavailable1", 3, intstr.FromInt32(1), intstr.FromInt32(1), 4, 2},
		{"surge25%-unavailable0", 4, intstr.FromString("25%"), intstr.FromInt32(0), 5, 4},
		{"surge0-unavailable50%", 4, intstr.FromInt32(0), intstr.FromString("50%"), 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, controllers.Options{})
			c.addNodes(t, 3, hollow.Options{})
			ns := c.namespace(t)
			d := newDeployment("web", "web:v1", tc.replicas, map[string]string{hollow.AnnotationAfter: "700ms"})
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &tc.surge, MaxUnavailable: &tc.unavailable}
			c.createDeployment(t, ns, d)
			_, oldRS := c.waitRolledOut(t, ns, "web")

			// The bounds a rolling update keeps, checked after every pod event. A pod
			// marked for deletion (deletionTimestamp set) no longer counts: it is
			// neither part of the surge nor available, as in Kubernetes, where a
			// terminating pod has left its ReplicaSet's status.replicas. The
			// controller sizes the new ReplicaSet against what the old ones still
			// have (max of spec and status.replicas), so a surplus old pod counts
			// against the surge until it is marked; and it shrinks old ReplicaSets
			// only as far as their available pods (min of status.availableReplicas
			// and spec) exceed replicas-maxUnavailable. So at every instant:
			//   pods not terminating and not finished <= replicas + maxSurge
			//   ready pods among them                 >= replicas - maxUnavailable
			// (minReadySeconds is 0, so ready means available.)
			var newPodsSeen, newReadySeen bool
			w := c.watchPods(t, ns, func(pods map[string]*corev1.Pod) string {
				existing, ready := 0, 0
				for _, p := range pods {
					if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
						continue
					}
					existing++
					isNew := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != oldRS.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
					newPodsSeen = newPodsSeen || isNew
					if podReady(p) {
						ready++
						newReadySeen = newReadySeen || isNew
					}
				}
				if existing > tc.maxPods || ready < tc.minReadyPods {
					return fmt.Sprintf("%d pods (max %d), %d ready (min %d)", existing, tc.maxPods, ready, tc.minReadyPods)
				}
				return ""
			})
			c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:v2" })
			d, newRS := c.waitRolledOut(t, ns, "web")
			events, violations := w.result()
			for _, v := range violations {
				t.Errorf("bound broken: %s", v)
			}
			if !newPodsSeen || !newReadySeen || events < 2*int(tc.replicas) {
				t.Errorf("watch saw %d states (new pods %v, ready %v): the rollout was not observed", events, newPodsSeen, newReadySeen)
			}
			if newRS.Name == oldRS.Name || d.Annotations["deployment.kubernetes.io/revision"] != "2" {
				t.Errorf("new ReplicaSet %s (old %s), revision %q", newRS.Name, oldRS.Name, d.Annotations["deployment.kubernetes.io/revision"])
			}
			for _, rs := range c.replicaSetsOf(t, d) {
				if rs.Name != newRS.Name && (*rs.Spec.Replicas != 0 || rs.Status.Replicas != 0) {
					t.Errorf("old ReplicaSet %s still at %d/%d", rs.Name, *rs.Spec.Replicas, rs.Status.Replicas)
				}
			}
		})
	}
}

func TestDeploymentRecreate(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 3, hollow.Options{})
	ns := c.namespace(t)
	d := newDeployment("web", "web:v1", 3, map[string]string{hollow.AnnotationAfter: "300ms"})
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	d.Spec.RevisionHistoryLimit = ptr.To(int32(0))
	c.createDeployment(t, ns, d)
	_, oldRS := c.waitRolledOut(t, ns, "web")
	oldHash := oldRS.Labels[appsv1.DefaultDeploymentUniqueLabelKey]

	// Every pod of the old revision, terminating or not, is gone before the first
	// pod of the new one is created.
	var newSeen bool
	w := c.watchPods(t, ns, func(pods map[string]*corev1.Pod) string {
		var old, cur []string
		for _, p := range pods {
			if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == oldHash {
				old = append(old, p.Name)
			} else {
				cur = append(cur, p.Name)
			}
		}
		newSeen = newSeen || len(cur) > 0
		if len(old) > 0 && len(cur) > 0 {
			return fmt.Sprintf("old pods %v beside new pods %v", old, cur)
		}
		return ""
	})
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:v2" })
	_, newRS := c.waitRolledOut(t, ns, "web")
	_, violations := w.result()
	for _, v := range violations {
		t.Errorf("Recreate overlapped: %s", v)
	}
	if !newSeen || newRS.Name == oldRS.Name {
		t.Errorf("no new revision observed (new pods seen %v, ReplicaSets %s, %s)", newSeen, oldRS.Name, newRS.Name)
	}
	c.waitEvent(t, ns, "web", "ScalingReplicaSet", fmt.Sprintf("Scaled down replica set %s to 0 from 3", oldRS.Name))
	// revisionHistoryLimit 0: the old ReplicaSet goes once the rollout is complete.
	eventually(t, 30*time.Second, "old ReplicaSet cleaned up", func() (bool, string) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(c.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var names []string
		for _, rs := range c.replicaSetsOf(t, d) {
			names = append(names, rs.Name)
		}
		return len(names) == 1 && names[0] == newRS.Name, fmt.Sprintf("ReplicaSets %v", names)
	})
}

func TestDeploymentRollback(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	c.createDeployment(t, ns, newDeployment("web", "web:v1", 2, nil))
	_, rs1 := c.waitRolledOut(t, ns, "web")
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:v2" })
	d, rs2 := c.waitRolledOut(t, ns, "web")
	if rs2.Name == rs1.Name || d.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Fatalf("v2: ReplicaSet %s (v1 %s), revision %q", rs2.Name, rs1.Name, d.Annotations["deployment.kubernetes.io/revision"])
	}
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:v1" })
	d, rs3 := c.waitRolledOut(t, ns, "web")
	if rs3.Name != rs1.Name {
		t.Errorf("rollback runs ReplicaSet %s, want the old %s", rs3.Name, rs1.Name)
	}
	if got := d.Annotations["deployment.kubernetes.io/revision"]; got != "3" {
		t.Errorf("deployment revision %q, want 3", got)
	}
	if got := rs3.Annotations["deployment.kubernetes.io/revision-history"]; got != "1" {
		t.Errorf("revision-history %q, want 1", got)
	}
	if sets := c.replicaSetsOf(t, d); len(sets) != 2 {
		t.Errorf("%d ReplicaSets, want 2 (no new one for a rollback)", len(sets))
	}
}

func TestDeploymentPausedScalesButDoesNotRoll(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	c.createDeployment(t, ns, newDeployment("web", "web:v1", 2, nil))
	_, rs1 := c.waitRolledOut(t, ns, "web")
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		d.Spec.Template.Spec.Containers[0].Image = "web:v2"
	})
	// Scaling while paused goes through; seeing it done shows the paused template
	// change was looked at, too.
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(3)) })
	eventually(t, 30*time.Second, "paused deployment scaled to 3", func() (bool, string) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(c.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		p := deploymentCond(d, appsv1.DeploymentProgressing)
		ok := d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 3 && p != nil && p.Reason == "DeploymentPaused"
		return ok, fmt.Sprintf("observed %d/%d, available %d, Progressing %+v", d.Status.ObservedGeneration, d.Generation, d.Status.AvailableReplicas, p)
	})
	d, err := c.Client.AppsV1().Deployments(ns).Get(testCtx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sets := c.replicaSetsOf(t, d); len(sets) != 1 || sets[0].Name != rs1.Name {
		t.Fatalf("paused deployment has ReplicaSets %v, want only %s", sets, rs1.Name)
	}
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	d, rs2 := c.waitRolledOut(t, ns, "web")
	if rs2.Name == rs1.Name || rs2.Spec.Template.Spec.Containers[0].Image != "web:v2" || *d.Spec.Replicas != 3 {
		t.Errorf("after resuming: ReplicaSet %s image %s", rs2.Name, rs2.Spec.Template.Spec.Containers[0].Image)
	}
}

func TestDeploymentProgressDeadline(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	d := newDeployment("web", "web:v1", 2, nil)
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(2))
	c.createDeployment(t, ns, d)
	c.waitRolledOut(t, ns, "web")
	// The new revision's pods never become ready.
	c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) {
		d.Spec.Template.Annotations = map[string]string{hollow.AnnotationReady: "false"}
	})
	eventually(t, 30*time.Second, "ProgressDeadlineExceeded", func() (bool, string) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(c.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		p := deploymentCond(d, appsv1.DeploymentProgressing)
		return p != nil && p.Status == corev1.ConditionFalse && p.Reason == "ProgressDeadlineExceeded", fmt.Sprintf("%+v", p)
	})
	// maxUnavailable 25% of 2 rounds down to 0: the old pods stay available.
	d, err := c.Client.AppsV1().Deployments(ns).Get(testCtx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := deploymentCond(d, appsv1.DeploymentAvailable); a == nil || a.Status != corev1.ConditionTrue || d.Status.AvailableReplicas != 2 {
		t.Errorf("Available %+v with %d available, want True with 2", a, d.Status.AvailableReplicas)
	}
}
