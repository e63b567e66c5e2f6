package cli

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestShortQuantity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"24684084Ki", "23.5Gi"},
		{"128Gi", "128Gi"},
		{"96Mi", "96Mi"},
		{"1536Mi", "1.5Gi"},
		{"512Ki", "512Ki"},
		{"2", "2"},
		{"150m", "150m"},
		{"1G", "1G"},
	} {
		if got := shortQuantity(resource.MustParse(tc.in)); got != tc.want {
			t.Errorf("shortQuantity(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
