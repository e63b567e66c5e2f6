package runtime

import (
	"errors"
	"testing"
)

func TestNormalizeImage(t *testing.T) {
	tests := []struct {
		ref, want string
		wantErr   bool
	}{
		{ref: "app", want: "docker.io/library/app:latest"},
		{ref: "app:v1", want: "docker.io/library/app:v1"},
		{ref: "team/app:v1", want: "docker.io/team/app:v1"},
		{ref: "berth.dev/hello", want: "berth.dev/hello:latest"},
		{ref: "localhost:5000/app:v2", want: "localhost:5000/app:v2"},
		{ref: "app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: "docker.io/library/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{ref: "Upper/Case", wantErr: true},
		{ref: "", wantErr: true},
		{ref: "app:bad tag", wantErr: true},
	}
	for _, tt := range tests {
		got, err := NormalizeImage(tt.ref)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidImageName) {
				t.Errorf("NormalizeImage(%q) = %q, %v; want ErrInvalidImageName", tt.ref, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}
