package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/kubelet/routes"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// Busybox 1.35's wget (Debian 12's busybox-static) segfaults on -T, so
// requests here rely on the exec timeout instead.

// multiNS is the namespace of the multi-node test's workloads.
const multiNS = "multi"

// TestMultiNode runs a 3-node cluster of real `berth agent` processes, each
// in a network namespace of its own on one bridge with its own containerd,
// and a control plane in-process. A Deployment of three hello replicas
// spreads over the nodes; a testbox pod on node-0 reaches the replicas on
// the other nodes by their pod IPs, with its own address kept (no
// masquerade inside the pod network), and through the Service by name.
// Then a node dies: its agent is killed and its link cut; it turns NotReady
// and its replica is recreated on the others; when its link and agent come
// back, the agent removes the stale pod's containers and the pod object.
func TestMultiNode(t *testing.T) {
	m := startMultiNode(t, 3)
	ctx := context.Background()
	if _, err := m.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: multiNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Runs before the agents stop: they tear the pods down.
	t.Cleanup(func() { m.removeWorkloads(t) })

	if _, err := m.admin.AppsV1().Deployments(multiNS).Create(ctx, helloDeployment(3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := m.admin.CoreV1().Services(multiNS).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: multiNS},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "hello"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client := pod("client", box("box", "sleep 3600"))
	client.Namespace, client.Spec.NodeName = multiNS, "node-0"
	client = waitReady(t, m.admin, createPod(t, m.admin, client))
	boxID := containerID(t, client, "box")
	node0 := m.nodes[0]

	hellos := m.waitHellos(t, 3, "")
	byNode := map[string]*corev1.Pod{}
	for _, p := range hellos {
		byNode[p.Spec.NodeName] = p
	}
	if len(byNode) != 3 {
		t.Fatalf("the scheduler put the 3 replicas on %d nodes, want one on each: %v", len(byNode), podNodes(hellos))
	}

	t.Run("pod to pod across nodes", func(t *testing.T) {
		// Each node routes the others' pod CIDRs to them (host-gw).
		for i, node := range m.nodes {
			out, err := node.net.Exec("ip", "-4", "route", "show", "proto", fmt.Sprint(routes.Protocol))
			if err != nil {
				t.Fatal(err)
			}
			for j, other := range m.nodes {
				n, err := m.admin.CoreV1().Nodes().Get(ctx, other.name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				want := n.Spec.PodCIDR + " via " + other.net.IP.String()
				if has := strings.Contains(out, want); has != (i != j) {
					t.Errorf("routes of %s:\n%s\nwant %q: %v", node.name, out, want, i != j)
				}
			}
		}
		for _, node := range []string{"node-1", "node-2"} {
			p := byNode[node]
			out := m.exec(t, node0, boxID, "wget", "-qO-", "http://"+p.Status.PodIP+":8080/")
			if !strings.HasPrefix(out, "hello from "+p.Name) {
				t.Errorf("GET %s (%s on %s) from node-0: %q", p.Status.PodIP, p.Name, node, out)
			}
			// hello logs each request's client: the testbox's own pod IP.
			waitFor(t, "the request from "+client.Status.PodIP+" in "+p.Name+"'s log", func() (string, bool) {
				logs, err := m.admin.CoreV1().Pods(multiNS).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
				if err != nil {
					return err.Error(), false
				}
				return string(logs), strings.Contains(string(logs), "GET / 200 "+client.Status.PodIP+":")
			})
		}
	})

	t.Run("Service across nodes", func(t *testing.T) {
		waitFor(t, "30 requests to the Service by name answered by all 3 replicas", func() (map[string]int, bool) {
			code, out, err := node0.rt.Exec(ctx, boxID, []string{"sh", "-c", "for i in $(seq 30); do wget -qO- http://hello/; done"}, time.Minute)
			seen := answers(string(out))
			if err != nil || code != 0 {
				seen[fmt.Sprintf("exit %d, %v", code, err)]++
				return seen, false
			}
			return seen, len(seen) == 3
		})
		out := m.exec(t, node0, boxID, "wget", "-qO-", "http://"+svc.Spec.ClusterIP+"/")
		if !strings.HasPrefix(out, "hello from hello-") {
			t.Errorf("GET the ClusterIP %s: %q", svc.Spec.ClusterIP, out)
		}
	})

	t.Run("node loss", func(t *testing.T) {
		victim := m.nodes[2]
		lost := byNode[victim.name]
		victim.kill()
		if _, err := victim.net.Exec("ip", "link", "set", "eth0", "down"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, victim.name+" not Ready", func() (corev1.NodeCondition, bool) {
			c := nodeReady(m.admin, victim.name)
			return c, c.Status != corev1.ConditionTrue
		})
		moved := m.waitHellos(t, 3, victim.name)
		t.Logf("replicas after the loss of %s: %v", victim.name, podNodes(moved))
		if p, err := m.admin.CoreV1().Pods(multiNS).Get(ctx, lost.Name, metav1.GetOptions{}); err == nil && p.DeletionTimestamp == nil {
			t.Errorf("pod %s of the lost node is not being deleted", lost.Name)
		}
		uid := string(lost.UID)
		if infos, err := victim.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: uid}); err != nil || len(infos) == 0 {
			t.Fatalf("containers of %s on the dead node: %v, %v; want them still there", lost.Name, infos, err)
		}

		// The node comes back: its link, as its network configuration
		// would bring it (with the default route the kernel dropped), then
		// its agent.
		for _, args := range [][]string{{"link", "set", "eth0", "up"}, {"route", "replace", "default", "via", "192.168.234.254"}} {
			if _, err := victim.net.Exec("ip", args...); err != nil {
				t.Fatal(err)
			}
		}
		victim.start(t, m.bin)
		m.waitNodeReady(t, victim.name)
		waitFor(t, "the stale pod "+lost.Name+" gone from the API", func() (string, bool) {
			p, err := m.admin.CoreV1().Pods(multiNS).Get(ctx, lost.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return "", true
			}
			if err != nil {
				return err.Error(), false
			}
			return fmt.Sprintf("phase %s, deleting since %v", p.Status.Phase, p.DeletionTimestamp), false
		})
		waitFor(t, "the stale pod's containers gone from "+victim.name, func() ([]runtime.ContainerInfo, bool) {
			infos, err := victim.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: uid})
			return infos, err == nil && len(infos) == 0
		})
		// Pods on the returned node reach the others again.
		probe := pod("probe", box("box", "sleep 3600"))
		probe.Namespace, probe.Spec.NodeName = multiNS, victim.name
		probe = waitReady(t, m.admin, createPod(t, m.admin, probe))
		probeID := containerID(t, probe, "box")
		for _, p := range m.waitHellos(t, 3, victim.name) {
			out := m.exec(t, victim, probeID, "wget", "-qO-", "http://"+p.Status.PodIP+":8080/")
			if !strings.HasPrefix(out, "hello from "+p.Name) {
				t.Errorf("GET %s (%s on %s) from the returned %s: %q", p.Status.PodIP, p.Name, p.Spec.NodeName, victim.name, out)
			}
		}
	})
}

// helloDeployment is a Deployment of hello replicas labelled app=hello,
// Ready when they serve.
func helloDeployment(replicas int32) *appsv1.Deployment {
	grace := int64(2)
	labels := map[string]string{"app": "hello"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: multiNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "hello", Image: "berth.dev/hello:latest", ImagePullPolicy: corev1.PullIfNotPresent,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
}

// waitHellos waits until the hello Deployment has n available replicas
// and n Ready pods not being deleted, none on the node avoid, and returns
// those pods.
func (m *multiNode) waitHellos(t *testing.T, n int, avoid string) []*corev1.Pod {
	t.Helper()
	ctx := context.Background()
	return waitFor(t, fmt.Sprintf("%d hello replicas available, none on %q", n, avoid), func() ([]*corev1.Pod, bool) {
		d, err := m.admin.AppsV1().Deployments(multiNS).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != int32(n) {
			return nil, false
		}
		list, err := m.admin.CoreV1().Pods(multiNS).List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err != nil {
			return nil, false
		}
		var ready []*corev1.Pod
		for i := range list.Items {
			p := &list.Items[i]
			if p.DeletionTimestamp != nil || !podIsReady(p) {
				continue
			}
			if p.Spec.NodeName == avoid {
				return nil, false
			}
			ready = append(ready, p)
		}
		return ready, len(ready) == n
	})
}

// podIsReady says whether the pod's Ready condition is True.
func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podNodes lists "pod@node" for the pods, sorted.
func podNodes(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"@"+p.Spec.NodeName)
	}
	slices.Sort(out)
	return out
}

// answers counts the lines of hello answers.
func answers(out string) map[string]int {
	seen := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if line != "" {
			seen[line]++
		}
	}
	return seen
}

// exec runs argv in the container on the node and returns its output,
// failing the test on a non-zero exit.
func (m *multiNode) exec(t *testing.T, node *realNode, id string, argv ...string) string {
	t.Helper()
	code, out, err := node.rt.Exec(context.Background(), id, argv, time.Minute)
	if err != nil || code != 0 {
		t.Fatalf("exec %q on %s: exit %d, %v: %s", argv, node.name, code, err, out)
	}
	return string(out)
}

// removeWorkloads deletes the test's Deployment and pods and waits until
// the agents have removed them.
func (m *multiNode) removeWorkloads(t *testing.T) {
	ctx := context.Background()
	_ = m.admin.AppsV1().Deployments(multiNS).Delete(ctx, "hello", metav1.DeleteOptions{})
	_ = m.admin.AppsV1().ReplicaSets(multiNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = m.admin.CoreV1().Pods(multiNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	waitFor(t, "the test's pods gone", func() ([]string, bool) {
		list, err := m.admin.CoreV1().Pods(multiNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return []string{err.Error()}, false
		}
		var left []string
		for _, p := range list.Items {
			left = append(left, p.Name+"@"+p.Spec.NodeName)
		}
		return left, len(left) == 0
	})
}
