package registry

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
)

func TestColumnsStartWithName(t *testing.T) {
	for _, k := range All() {
		if k.Columns == nil {
			if k.Row != nil {
				t.Errorf("%s: Row without Columns", k.Kind)
			}
			continue
		}
		if c := k.Columns[0]; c.Name != "Name" || c.Format != "name" || c.Type != "string" {
			t.Errorf("%s: first column %+v, want the Name column", k.Kind, c)
		}
		if k.Row == nil {
			t.Fatalf("%s: Columns without Row", k.Kind)
		}
		for _, obj := range []runtime.Object{k.New(), &corev1.Binding{}, nil} {
			if got := len(k.Row(obj)); got != len(k.Columns)-1 {
				t.Errorf("%s: Row(%T) has %d cells, want %d", k.Kind, obj, got, len(k.Columns)-1)
			}
		}
	}
}

func TestByResource(t *testing.T) {
	if k := ByResource("apps", "deployments"); k == nil || k.Kind != "Deployment" {
		t.Errorf("ByResource(apps, deployments) = %v", k)
	}
	if k := ByResource("", "gitsources"); k != nil {
		t.Errorf("ByResource(\"\", gitsources) = %v, want nil", k.Kind)
	}
}

// runHooks calls every hook of k on obj and old; it must not panic.
func runHooks(k *Kind, obj, old runtime.Object) {
	if k.Default != nil {
		k.Default(obj)
	}
	if k.PrepareForCreate != nil {
		k.PrepareForCreate(obj)
	}
	k.ValidateCreate(obj)
	k.ValidateUpdateOf(obj, old)
	if k.Validate != nil {
		k.Validate(obj)
	}
	if k.ValidateUpdate != nil {
		k.ValidateUpdate(obj, old)
	}
	if k.Fields != nil {
		k.Fields(obj)
	}
	if k.Row != nil {
		k.Row(obj)
	}
}

// TestHooksDoNotPanic runs every hook on empty, nil, wrong-typed and random
// objects.
func TestHooksDoNotPanic(t *testing.T) {
	for seed, k := range All() {
		t.Run(k.Kind, func(t *testing.T) {
			t.Parallel()
			f := randfill.NewWithSeed(int64(seed)).NilChance(0.3).NumElements(0, 3).MaxDepth(12).Funcs(
				// A RawExtension cannot be filled at random.
				func(r *runtime.RawExtension, c randfill.Continue) {},
			)
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			typedNil := reflect.Zero(reflect.TypeOf(k.New())).Interface().(runtime.Object)
			runHooks(k, k.New(), k.New())
			runHooks(k, typedNil, typedNil)
			runHooks(k, k.New(), typedNil)
			runHooks(k, &corev1.Binding{}, &corev1.Binding{})
			for i := 0; i < 50; i++ {
				obj, old := k.New(), k.New()
				f.Fill(obj)
				f.Fill(old)
				once := obj.DeepCopyObject()
				if k.Default != nil {
					k.Default(once)
					twice := once.DeepCopyObject()
					k.Default(twice)
					if d := diff(once, twice); d != "" {
						t.Fatalf("Default is not idempotent on random object %d (-once +twice):\n%s", i, d)
					}
				}
				func() {
					defer func() {
						if r := recover(); r != nil {
							panic(fmt.Sprintf("random object %d: %v\n%s", i, r, render(obj)))
						}
					}()
					runHooks(k, obj, old)
				}()
			}
		})
	}
}
