package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSelectImages(t *testing.T) {
	tests := []struct {
		only    []string
		want    []string
		wantErr string
	}{
		{only: nil, want: []string{"hello", "testbox"}},
		{only: []string{"testbox"}, want: []string{"testbox"}},
		{only: []string{"testbox", " hello"}, want: []string{"hello", "testbox"}},
		{only: []string{"hello", "hello"}, want: []string{"hello"}},
		{only: []string{"pause"}, wantErr: `unknown image "pause" (known: hello, testbox)`},
		{only: []string{""}, wantErr: "no image named"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.only, ","), func(t *testing.T) {
			got, err := selectImages(tt.only)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("selectImages(%q): err = %v, want one containing %q", tt.only, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("selectImages(%q): %v", tt.only, err)
			}
			var names []string
			for _, im := range got {
				names = append(names, im.name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}
