package sync

import (
	"fmt"
	"testing"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

func TestCapObjects(t *testing.T) {
	var objs []berthv1.ManagedObject
	for i := 0; i < 10; i++ {
		objs = append(objs, berthv1.ManagedObject{Name: fmt.Sprint(i), State: StateUnchanged, Health: Healthy})
	}
	objs[7].State = StateFailed
	objs[3].Health = Degraded
	got, omitted := capObjects(objs, 3)
	if omitted != 7 || len(got) != 3 || got[0].Name != "0" || got[1].Name != "3" || got[2].Name != "7" {
		t.Errorf("capObjects kept %v, omitted %d; want 0 (first of the rest), 3 (degraded), 7 (failed) in order", got, omitted)
	}
	if got, omitted := capObjects(objs, 20); len(got) != 10 || omitted != 0 {
		t.Errorf("under the cap: %d kept, %d omitted", len(got), omitted)
	}
}
