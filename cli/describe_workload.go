package cli

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// describeDeployment prints a Deployment's page: selector, replica counts,
// strategy, pod template and conditions.
func describeDeployment(d *descWriter, u *unstructured.Unstructured) error {
	dep, err := fromUnstructured[appsv1.Deployment](u)
	if err != nil {
		return err
	}
	d.meta(dep.ObjectMeta, true)
	d.line(0, "Selector", selectorString(dep.Spec.Selector))
	desired := int32(1)
	if dep.Spec.Replicas != nil {
		desired = *dep.Spec.Replicas
	}
	s := dep.Status
	d.line(0, "Replicas", fmt.Sprintf("%d desired | %d updated | %d total | %d available | %d unavailable",
		desired, s.UpdatedReplicas, s.Replicas, s.AvailableReplicas, s.UnavailableReplicas))
	d.line(0, "StrategyType", orNone(string(dep.Spec.Strategy.Type)))
	d.line(0, "MinReadySeconds", dep.Spec.MinReadySeconds)
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil && ru.MaxSurge != nil {
		d.line(0, "RollingUpdateStrategy", fmt.Sprintf("%s max unavailable, %s max surge", ru.MaxUnavailable, ru.MaxSurge))
	}
	podTemplate(d, dep.Spec.Template)
	var conds [][]string
	for _, c := range dep.Status.Conditions {
		conds = append(conds, []string{string(c.Type), string(c.Status), c.Reason})
	}
	d.table(0, "Conditions", []string{"Type", "Status", "Reason"}, conds)
	return nil
}

// describeReplicaSet prints a ReplicaSet's page.
func describeReplicaSet(d *descWriter, u *unstructured.Unstructured) error {
	rs, err := fromUnstructured[appsv1.ReplicaSet](u)
	if err != nil {
		return err
	}
	d.meta(rs.ObjectMeta, true)
	d.line(0, "Selector", selectorString(rs.Spec.Selector))
	if c := controlledBy(rs.ObjectMeta); c != "" {
		d.line(0, "Controlled By", c)
	}
	desired := int32(1)
	if rs.Spec.Replicas != nil {
		desired = *rs.Spec.Replicas
	}
	d.line(0, "Replicas", fmt.Sprintf("%d current / %d desired", rs.Status.Replicas, desired))
	d.line(0, "Pods Status", fmt.Sprintf("%d Ready / %d Available", rs.Status.ReadyReplicas, rs.Status.AvailableReplicas))
	podTemplate(d, rs.Spec.Template)
	return nil
}

// describeDaemonSet prints a DaemonSet's page.
func describeDaemonSet(d *descWriter, u *unstructured.Unstructured) error {
	ds, err := fromUnstructured[appsv1.DaemonSet](u)
	if err != nil {
		return err
	}
	d.meta(ds.ObjectMeta, true)
	d.line(0, "Selector", selectorString(ds.Spec.Selector))
	d.mapLines(0, "Node-Selector", ds.Spec.Template.Spec.NodeSelector)
	s := ds.Status
	d.line(0, "Desired Number of Nodes Scheduled", s.DesiredNumberScheduled)
	d.line(0, "Current Number of Nodes Scheduled", s.CurrentNumberScheduled)
	d.line(0, "Number of Nodes Scheduled with Up-to-date Pods", s.UpdatedNumberScheduled)
	d.line(0, "Number of Nodes Scheduled with Available Pods", s.NumberAvailable)
	d.line(0, "Number of Nodes Misscheduled", s.NumberMisscheduled)
	d.line(0, "Pods Status", fmt.Sprintf("%d Ready / %d Unavailable", s.NumberReady, s.NumberUnavailable))
	podTemplate(d, ds.Spec.Template)
	return nil
}

// describeJob prints a Job's page.
func describeJob(d *descWriter, u *unstructured.Unstructured) error {
	job, err := fromUnstructured[batchv1.Job](u)
	if err != nil {
		return err
	}
	d.meta(job.ObjectMeta, true)
	d.line(0, "Selector", selectorString(job.Spec.Selector))
	if job.Spec.Parallelism != nil {
		d.line(0, "Parallelism", *job.Spec.Parallelism)
	}
	if job.Spec.Completions != nil {
		d.line(0, "Completions", *job.Spec.Completions)
	} else {
		d.line(0, "Completions", "<unset>")
	}
	if job.Spec.BackoffLimit != nil {
		d.line(0, "Backoff Limit", *job.Spec.BackoffLimit)
	}
	d.line(0, "Start Time", d.ago(job.Status.StartTime))
	if job.Status.CompletionTime != nil {
		d.line(0, "Completed At", d.ago(job.Status.CompletionTime))
		if job.Status.StartTime != nil {
			d.line(0, "Duration", Age(job.Status.StartTime.Time, job.Status.CompletionTime.Time))
		}
	}
	d.line(0, "Pods Statuses", fmt.Sprintf("%d Active / %d Succeeded / %d Failed", job.Status.Active, job.Status.Succeeded, job.Status.Failed))
	podTemplate(d, job.Spec.Template)
	var conds [][]string
	for _, c := range job.Status.Conditions {
		conds = append(conds, []string{string(c.Type), string(c.Status), c.Reason})
	}
	d.table(0, "Conditions", []string{"Type", "Status", "Reason"}, conds)
	return nil
}

// podTemplate prints a workload's pod template.
func podTemplate(d *descWriter, t corev1.PodTemplateSpec) {
	d.text(0, "Pod Template:")
	d.mapLines(1, "Labels", t.Labels)
	if len(t.Annotations) > 0 {
		d.mapLines(1, "Annotations", t.Annotations)
	}
	if len(t.Spec.InitContainers) > 0 {
		d.text(1, "Init Containers:")
		describeContainers(d, 1, t.Spec.InitContainers, nil, true)
	}
	d.text(1, "Containers:")
	describeContainers(d, 1, t.Spec.Containers, nil, true)
}

// selectorString renders a label selector, or "<none>".
func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "<error: " + err.Error() + ">"
	}
	return orNone(sel.String())
}
