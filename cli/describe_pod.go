package cli

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// describePod prints a Pod's page: where it runs, its status and IP, each
// container's image, ports, state, readiness, restarts and resources, its
// conditions, volumes and tolerations.
func describePod(d *descWriter, u *unstructured.Unstructured) error {
	pod, err := fromUnstructured[corev1.Pod](u)
	if err != nil {
		return err
	}
	d.line(0, "Name", pod.Name)
	d.line(0, "Namespace", pod.Namespace)
	if pod.Spec.Priority != nil {
		d.line(0, "Priority", *pod.Spec.Priority)
	}
	d.line(0, "Service Account", orNone(pod.Spec.ServiceAccountName))
	node := orNone(pod.Spec.NodeName)
	if pod.Spec.NodeName != "" && pod.Status.HostIP != "" {
		node += "/" + pod.Status.HostIP
	}
	d.line(0, "Node", node)
	if pod.Status.StartTime != nil {
		d.line(0, "Start Time", d.ago(pod.Status.StartTime))
	}
	d.mapLines(0, "Labels", pod.Labels)
	d.mapLines(0, "Annotations", pod.Annotations)
	status := string(pod.Status.Phase)
	if pod.DeletionTimestamp != nil {
		status = "Terminating (lasts " + Age(pod.DeletionTimestamp.Time, d.now) + ")"
	}
	d.line(0, "Status", orNone(status))
	if pod.Status.Reason != "" {
		d.line(0, "Reason", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		d.line(0, "Message", pod.Status.Message)
	}
	d.line(0, "IP", orNone(pod.Status.PodIP))
	if c := controlledBy(pod.ObjectMeta); c != "" {
		d.line(0, "Controlled By", c)
	}
	if len(pod.Spec.InitContainers) > 0 {
		d.text(0, "Init Containers:")
		describeContainers(d, 0, pod.Spec.InitContainers, pod.Status.InitContainerStatuses, false)
	}
	d.text(0, "Containers:")
	describeContainers(d, 0, pod.Spec.Containers, pod.Status.ContainerStatuses, false)
	var conds [][]string
	for _, c := range pod.Status.Conditions {
		conds = append(conds, []string{string(c.Type), string(c.Status)})
	}
	d.table(0, "Conditions", []string{"Type", "Status"}, conds)
	describeVolumes(d, pod.Spec.Volumes)
	if pod.Status.QOSClass != "" {
		d.line(0, "QoS Class", pod.Status.QOSClass)
	}
	d.mapLines(0, "Node-Selectors", pod.Spec.NodeSelector)
	var tols []string
	for _, t := range pod.Spec.Tolerations {
		tols = append(tols, tolerationString(t))
	}
	d.line(0, "Tolerations", orNone(strings.Join(tols, ", ")))
	return nil
}

// describeContainers prints each container under "Containers:" at level base;
// a template's containers have no state.
func describeContainers(d *descWriter, base int, cs []corev1.Container, statuses []corev1.ContainerStatus, template bool) {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	for _, c := range cs {
		d.text(base+1, "%s:", c.Name)
		st, hasStatus := byName[c.Name]
		if hasStatus && st.ContainerID != "" {
			d.line(base+2, "Container ID", st.ContainerID)
		}
		d.line(base+2, "Image", c.Image)
		var ports []string
		for _, p := range c.Ports {
			ports = append(ports, fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol))
		}
		d.line(base+2, "Port", orNone(strings.Join(ports, ", ")))
		if len(c.Command) > 0 {
			d.line(base+2, "Command", strings.Join(c.Command, " "))
		}
		if len(c.Args) > 0 {
			d.line(base+2, "Args", strings.Join(c.Args, " "))
		}
		if hasStatus {
			describeState(d, base, "State", st.State)
			if st.LastTerminationState != (corev1.ContainerState{}) {
				describeState(d, base, "Last State", st.LastTerminationState)
			}
			d.line(base+2, "Ready", boolTitle(st.Ready))
			d.line(base+2, "Restart Count", st.RestartCount)
		} else if !template {
			d.line(base+2, "State", "Waiting")
			d.line(base+2, "Ready", "False")
		}
		resources(d, base, "Limits", c.Resources.Limits)
		resources(d, base, "Requests", c.Resources.Requests)
		var env []string
		for _, e := range c.Env {
			switch {
			case e.ValueFrom != nil:
				env = append(env, e.Name+":\t<set from a reference>")
			default:
				env = append(env, e.Name+":\t"+e.Value)
			}
		}
		if len(env) == 0 {
			d.line(base+2, "Environment", "<none>")
		} else {
			d.text(base+2, "Environment:")
			for _, e := range env {
				d.text(base+3, "%s", e)
			}
		}
	}
}

// describeState prints a container state and its details.
func describeState(d *descWriter, base int, title string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		d.line(base+2, title, "Running")
		d.line(base+3, "Started", d.ago(&s.Running.StartedAt))
	case s.Waiting != nil:
		d.line(base+2, title, "Waiting")
		d.line(base+3, "Reason", s.Waiting.Reason)
		if s.Waiting.Message != "" {
			d.line(base+3, "Message", s.Waiting.Message)
		}
	case s.Terminated != nil:
		d.line(base+2, title, "Terminated")
		d.line(base+3, "Reason", orNone(s.Terminated.Reason))
		if s.Terminated.Message != "" {
			d.line(base+3, "Message", s.Terminated.Message)
		}
		d.line(base+3, "Exit Code", s.Terminated.ExitCode)
		d.line(base+3, "Started", d.ago(&s.Terminated.StartedAt))
		d.line(base+3, "Finished", d.ago(&s.Terminated.FinishedAt))
	default:
		d.line(base+2, title, "Waiting")
	}
}

// resources prints a container's requests or limits, sorted.
func resources(d *descWriter, base int, title string, l corev1.ResourceList) {
	if len(l) == 0 {
		return
	}
	d.text(base+2, "%s:", title)
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		q := l[corev1.ResourceName(n)]
		d.line(base+3, n, q.String())
	}
}

// describeVolumes prints a pod's volumes and what backs each.
func describeVolumes(d *descWriter, vols []corev1.Volume) {
	if len(vols) == 0 {
		d.line(0, "Volumes", "<none>")
		return
	}
	d.text(0, "Volumes:")
	for _, v := range vols {
		d.text(1, "%s:", v.Name)
		switch s := v.VolumeSource; {
		case s.EmptyDir != nil:
			d.line(2, "Type", "EmptyDir (a temporary directory that shares a pod's lifetime)")
			d.line(2, "Medium", string(s.EmptyDir.Medium))
		case s.ConfigMap != nil:
			d.line(2, "Type", "ConfigMap (a volume populated by a ConfigMap)")
			d.line(2, "Name", s.ConfigMap.Name)
		case s.Secret != nil:
			d.line(2, "Type", "Secret (a volume populated by a Secret)")
			d.line(2, "SecretName", s.Secret.SecretName)
		case s.HostPath != nil:
			d.line(2, "Type", "HostPath (bare host directory volume)")
			d.line(2, "Path", s.HostPath.Path)
		case s.Projected != nil:
			d.line(2, "Type", "Projected (a volume that contains injected data from multiple sources)")
		default:
			d.line(2, "Type", "<unknown>")
		}
	}
}

// tolerationString renders a toleration as kubectl does:
// "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s".
func tolerationString(t corev1.Toleration) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	if t.Operator == corev1.TolerationOpExists && t.Value == "" {
		if t.Key == "" {
			s = "op=Exists"
		} else {
			s += " op=Exists"
		}
	}
	if t.TolerationSeconds != nil {
		s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
	}
	return s
}

// boolTitle renders true and false as "True" and "False".
func boolTitle(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
