package kubelet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMemTotal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(path, []byte("MemTotal:        4030584 kB\nMemFree:          123 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := memTotal(path)
	if err != nil || got != 4030584*1024 {
		t.Errorf("memTotal = %d, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("MemFree: 1 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := memTotal(path); err == nil {
		t.Error("memTotal without MemTotal: no error")
	}
}

func TestAllocatable(t *testing.T) {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("1Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	got := allocatable(capacity, corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("100m"),
		corev1.ResourceMemory: resource.MustParse("2Gi"),
	})
	if cpu := got[corev1.ResourceCPU]; cpu.MilliValue() != 1900 {
		t.Errorf("allocatable cpu = %s, want 1900m", cpu.String())
	}
	if mem := got[corev1.ResourceMemory]; mem.Sign() != 0 {
		t.Errorf("allocatable memory = %s, want 0", mem.String())
	}
	if pods := got[corev1.ResourcePods]; pods.Value() != 110 {
		t.Errorf("allocatable pods = %s", pods.String())
	}
	if c := capacity[corev1.ResourceCPU]; c.Value() != 2 {
		t.Error("allocatable changed the capacity")
	}
}

func TestReadyCondition(t *testing.T) {
	t1 := metav1.NewTime(t0)
	t2 := metav1.NewTime(t0.Add(10))
	conds := readyCondition(nil, nil, t1)
	if len(conds) != 1 || conds[0].Status != corev1.ConditionTrue || conds[0].Reason != "KubeletReady" {
		t.Fatalf("ready conditions = %+v", conds)
	}
	conds = readyCondition(conds, nil, t2)
	if !conds[0].LastTransitionTime.Equal(&t1) || !conds[0].LastHeartbeatTime.Equal(&t2) {
		t.Errorf("renewed ready condition = %+v", conds[0])
	}
	conds = readyCondition(conds, errors.New("connection refused"), t2)
	if c := conds[0]; c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" || !c.LastTransitionTime.Equal(&t2) {
		t.Errorf("runtime down: %+v", c)
	}
}
