package registry

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Column definitions shared by many kinds, worded as kube-apiserver words them.
var (
	nameColumn = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
	ageColumn  = metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
	// containersColumn, imagesColumn and selectorColumn are the wide columns of workloads.
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."}
	imagesColumn     = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."}
)

// rowFunc adapts a row function of a typed object and the current time to a
// Kind's Row. An object of another type renders as an empty row of n cells.
func rowFunc[T any, PT interface {
	*T
	runtime.Object
}](n int, f func(PT, time.Time) []interface{}) func(runtime.Object) []interface{} {
	return func(obj runtime.Object) []interface{} {
		o, ok := as[T, PT](obj)
		if !ok {
			return make([]interface{}, n)
		}
		return f(o, time.Now())
	}
}

// translateTimestampSince renders the time since ts as kubectl does ("5m",
// "3d"), or "<unknown>" for a zero time.
func translateTimestampSince(ts metav1.Time, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// translateMicroTimestampSince is translateTimestampSince for a MicroTime.
func translateMicroTimestampSince(ts metav1.MicroTime, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// layoutContainerCells joins container names and images with commas.
func layoutContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// listWithMoreString joins up to max items and says how many more there are,
// or "<unset>" for none.
func listWithMoreString(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	if ret == "" {
		ret = "<unset>"
	}
	return ret
}

// formatSelector renders a label selector as kubectl does for Selector columns.
func formatSelector(s *metav1.LabelSelector) string {
	return metav1.FormatLabelSelector(s)
}

// derefInt32 returns *p, or 0 for nil.
func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
