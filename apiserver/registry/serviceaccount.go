package registry

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ServiceAccounts describes serviceaccount (ServiceAccount). Kubernetes
// validates only a ServiceAccount's metadata, so Validate is nil.
func ServiceAccounts() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "ServiceAccount",
		Resource:     "serviceaccounts",
		Singular:     "serviceaccount",
		ShortNames:   []string{"sa"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:      func() runtime.Object { return &corev1.ServiceAccountList{} },
		Columns:      serviceAccountColumns,
		Row:          rowFunc(len(serviceAccountColumns)-1, serviceAccountRow),
	}
}

// serviceAccountColumns are the columns of `kubectl get serviceaccounts`.
var serviceAccountColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
	ageColumn,
}

// serviceAccountRow renders the number of secrets and the age.
func serviceAccountRow(sa *corev1.ServiceAccount, now time.Time) []interface{} {
	return []interface{}{int64(len(sa.Secrets)), translateTimestampSince(sa.CreationTimestamp, now)}
}
