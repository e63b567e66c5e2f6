package hollow_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/test/hollow"
)

// timeout bounds every wait: generous, since tests run in parallel under -race.
const timeout = 30 * time.Second

// startNode runs a fleet with one hollow node on a fresh API server.
func startNode(t *testing.T) (kubernetes.Interface, *hollow.Node, context.Context) {
	t.Helper()
	ts := testserver.Start(t, apiserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	fleet := hollow.NewFleet(ts.Client)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("fleet: %v", err)
		}
	})
	n, err := fleet.Add(ctx, hollow.Options{
		Name: "h1", Labels: map[string]string{"zone": "a"},
		RenewInterval: 100 * time.Millisecond, LeaseDuration: time.Second,
	})
	if err != nil {
		t.Fatalf("add node: %v", err)
	}
	return ts.Client, n, ctx
}

// poll calls cond until it is true, failing after timeout with the last detail.
func poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last: %s)", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistersNodeAndLease(t *testing.T) {
	t.Parallel()
	client, n, ctx := startNode(t)
	node, err := client.CoreV1().Nodes().Get(ctx, n.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels["zone"] != "a" || node.Labels[corev1.LabelHostname] != "h1" {
		t.Errorf("labels = %v", node.Labels)
	}
	if node.Spec.PodCIDR == "" {
		t.Error("no podCIDR allocated")
	}
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	if ready == nil || ready.Status != corev1.ConditionTrue {
		t.Errorf("Ready condition = %+v", ready)
	}
	if cpu := node.Status.Allocatable[corev1.ResourceCPU]; cpu.String() != "4" {
		t.Errorf("allocatable cpu = %s, want 4", cpu.String())
	}
	lease, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "h1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "h1" || lease.Spec.LeaseDurationSeconds == nil || *lease.Spec.LeaseDurationSeconds != 1 {
		t.Errorf("lease spec = %+v", lease.Spec)
	}
	if refs := lease.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Node" || refs[0].UID != node.UID {
		t.Errorf("lease owner = %+v, want the Node", refs)
	}
}

func TestStopAndResumeLease(t *testing.T) {
	t.Parallel()
	client, n, ctx := startNode(t)
	renewTime := func() time.Time {
		l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "h1", metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return time.Time{}
		}
		return l.Spec.RenewTime.Time
	}
	first := renewTime()
	poll(t, "a renewal", func() (bool, string) { return renewTime().After(first), renewTime().String() })

	n.Stop()
	if !n.Stopped() {
		t.Fatal("Stopped() = false after Stop")
	}
	stopped := renewTime()  // Stop waited for a renewal under way
	time.Sleep(time.Second) // ten renew intervals
	if got := renewTime(); !got.Equal(stopped) {
		t.Errorf("lease renewed while stopped: %v, then %v", stopped, got)
	}

	n.Resume()
	poll(t, "renewals after Resume", func() (bool, string) { return renewTime().After(stopped), renewTime().String() })
}

// createBoundPod creates a pod with annotations and binds it to the node, as the
// scheduler would.
func createBoundPod(t *testing.T, ctx context.Context, client kubernetes.Interface, name string, ann map[string]string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: ann},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}
	created, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "h1"}}
	if err := client.CoreV1().Pods("default").Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind pod %s: %v", name, err)
	}
	return created
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitPod polls a pod until cond holds.
func waitPod(t *testing.T, ctx context.Context, client kubernetes.Interface, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	poll(t, name+" "+what, func() (bool, string) {
		p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		return cond(p), fmt.Sprintf("phase %s, ready %v", p.Status.Phase, podReady(p))
	})
	return pod
}

func TestPodRunsWithAnAddressOfThePodCIDR(t *testing.T) {
	t.Parallel()
	client, n, ctx := startNode(t)
	node, err := client.CoreV1().Nodes().Get(ctx, n.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cidr := netip.MustParsePrefix(node.Spec.PodCIDR)
	createBoundPod(t, ctx, client, "web", nil)
	pod := waitPod(t, ctx, client, "web", "running and ready", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && podReady(p)
	})
	ip, err := netip.ParseAddr(pod.Status.PodIP)
	if err != nil || !cidr.Contains(ip) {
		t.Errorf("podIP %q not in the node's podCIDR %s", pod.Status.PodIP, cidr)
	}
	if pod.Status.HostIP == "" || len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("status = %+v", pod.Status)
	}

	// Another pod gets another address.
	createBoundPod(t, ctx, client, "web2", nil)
	pod2 := waitPod(t, ctx, client, "web2", "running", func(p *corev1.Pod) bool { return p.Status.PodIP != "" })
	if pod2.Status.PodIP == pod.Status.PodIP {
		t.Errorf("two pods share %s", pod.Status.PodIP)
	}

	// Readiness follows the annotation.
	patch := []byte(`{"metadata":{"annotations":{"hollow.berth.dev/ready":"false"}}}`)
	if _, err := client.CoreV1().Pods("default").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ctx, client, "web", "not ready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && !podReady(p) })

	// A graceful delete is finished by the node.
	if err := client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod gone", func() (bool, string) {
		_, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

func TestAnnotationsDecideTheOutcome(t *testing.T) {
	t.Parallel()
	client, _, ctx := startNode(t)
	createBoundPod(t, ctx, client, "done", map[string]string{hollow.AnnotationPhase: "Succeeded"})
	createBoundPod(t, ctx, client, "broken", map[string]string{hollow.AnnotationPhase: "Failed", hollow.AnnotationExitCode: "3"})
	createBoundPod(t, ctx, client, "slow", map[string]string{hollow.AnnotationPhase: "Succeeded", hollow.AnnotationAfter: "1s"})

	done := waitPod(t, ctx, client, "done", "succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if st := done.Status.ContainerStatuses; len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 0 || st[0].State.Terminated.Reason != "Completed" {
		t.Errorf("container status = %+v", st)
	}
	broken := waitPod(t, ctx, client, "broken", "failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if st := broken.Status.ContainerStatuses; len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 3 || st[0].State.Terminated.Reason != "Error" {
		t.Errorf("container status = %+v", st)
	}
	if podReady(broken) {
		t.Error("a failed pod is ready")
	}

	// A delayed outcome: Running (not ready) first, then Succeeded.
	waitPod(t, ctx, client, "slow", "running first", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded
	})
	waitPod(t, ctx, client, "slow", "succeeded after 1s", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
}

func TestStoppedNodeLeavesPodsAlone(t *testing.T) {
	t.Parallel()
	client, n, ctx := startNode(t)
	createBoundPod(t, ctx, client, "web", nil)
	waitPod(t, ctx, client, "web", "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	n.Stop()
	if err := client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	createBoundPod(t, ctx, client, "late", nil)
	time.Sleep(time.Second)
	if p, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Errorf("a stopped node finished a deletion: %v", err)
	}
	if p, err := client.CoreV1().Pods("default").Get(ctx, "late", metav1.GetOptions{}); err != nil {
		t.Error(err)
	} else if p.Status.Phase != corev1.PodPending {
		t.Errorf("a stopped node started a pod: phase %s", p.Status.Phase)
	}

	// Back again: it catches up with both.
	n.Resume()
	poll(t, "the deletion finished", func() (bool, string) {
		_, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	waitPod(t, ctx, client, "late", "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}
