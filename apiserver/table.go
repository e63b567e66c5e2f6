package apiserver

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/berth-dev/berth/apiserver/registry"
)

// defaultColumns are printed for kinds without columns of their own.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
}

// tableOptions are the query parameters of a Table request.
type tableOptions struct {
	noHeaders     bool
	includeObject metav1.IncludeObjectPolicy
}

// newTable renders objects as a meta.k8s.io/v1 Table, as `kubectl get` asks for.
func newTable(k *registry.Kind, objs []runtime.Object, opts tableOptions) (*metav1.Table, error) {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	if !opts.noHeaders {
		t.ColumnDefinitions = k.Columns
		if t.ColumnDefinitions == nil {
			t.ColumnDefinitions = defaultColumns
		}
	}
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, err
		}
		cells := []interface{}{m.GetName()}
		if k.Row != nil {
			cells = append(cells, k.Row(obj)...)
		} else {
			cells = append(cells, age(m.GetCreationTimestamp()))
		}
		row := metav1.TableRow{Cells: cells}
		switch opts.includeObject {
		case metav1.IncludeNone:
		case metav1.IncludeObject:
			row.Object = runtime.RawExtension{Object: obj}
		default:
			row.Object = runtime.RawExtension{Object: partialMetadata(m)}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// partialMetadata returns an object's metadata as a PartialObjectMetadata.
func partialMetadata(m metav1.Object) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}}
	if om, ok := m.(*metav1.ObjectMeta); ok {
		p.ObjectMeta = *om
		return p
	}
	p.ObjectMeta = metav1.ObjectMeta{
		Name: m.GetName(), GenerateName: m.GetGenerateName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
		CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(), Labels: m.GetLabels(),
		Annotations: m.GetAnnotations(), OwnerReferences: m.GetOwnerReferences(), Finalizers: m.GetFinalizers(),
	}
	return p
}

// age renders a creation time as kubectl does ("5m", "3d").
func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}
