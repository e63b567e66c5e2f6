package storage

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/testetcd"
)

// TestUpdateFromStaleCache: an update that starts from a watch cache which is behind
// etcd still decides on etcd's copy — a stale no-op or a stale precondition never
// succeeds, and a fresh precondition is not refused for the cache's lag.
func TestUpdateFromStaleCache(t *testing.T) {
	e := testetcd.StartEmbedded(t)
	s := NewStore(e.Client(), registry.ConfigMaps(), CacherOptions{})
	cctx, stopCache := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Cacher().Run(cctx) }()
	<-s.Cacher().Ready()
	ctx := context.Background()

	v1 := create(t, s, ctx, "cm", nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := s.Cacher().Get(s.Key("ns", "cm")); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never saw the object")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopCache() // the cache now stays at v1
	<-done

	// Another writer moves the object to v2 behind the cache's back.
	v2, err := s.Update(ctx, "ns", "cm", func(cur runtime.Object) (Outcome, error) {
		cm := cur.(*corev1.ConfigMap)
		cm.Data = map[string]string{"k": "v2"}
		return Outcome{Obj: cm}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rv1, rv2 := v1.ResourceVersion, v2.(metav1.Object).GetResourceVersion()

	// precondition compares the caller's resourceVersion with the current one,
	// and calls the update a no-op when nothing else changes, as the API does.
	precondition := func(rv string, data map[string]string) UpdateFunc {
		return func(cur runtime.Object) (Outcome, error) {
			cm := cur.(*corev1.ConfigMap)
			if cm.ResourceVersion != rv {
				return Outcome{}, apierrors.NewConflict(registry.ConfigMaps().GroupResource(), "cm", nil)
			}
			if len(cm.Data) == len(data) && cm.Data["k"] == data["k"] {
				return Outcome{NoOp: true}, nil
			}
			cm.Data = data
			return Outcome{Obj: cm}, nil
		}
	}
	for _, tc := range []struct {
		name     string
		rv       string
		data     map[string]string
		conflict bool
	}{
		{"stale no-op", rv1, nil, true},
		{"stale change", rv1, map[string]string{"k": "x"}, true},
		{"fresh no-op", rv2, map[string]string{"k": "v2"}, false},
		{"fresh change", rv2, map[string]string{"k": "v3"}, false},
	} {
		_, err := s.Update(ctx, "ns", "cm", precondition(tc.rv, tc.data))
		if got := apierrors.IsConflict(err); got != tc.conflict || (err != nil && !got) {
			t.Errorf("%s: err %v, want conflict %v", tc.name, err, tc.conflict)
		}
	}
}
