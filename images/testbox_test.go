package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseApplets(t *testing.T) {
	all := strings.Join(requiredApplets, "\n")
	tests := []struct {
		name    string
		list    string
		want    []string
		wantErr string
	}{
		{
			name: "sorted, busybox itself and duplicates dropped",
			list: "[\nzcat\nbusybox\n" + all + "\nsh\n",
			want: append([]string{"["}, append(append([]string(nil), requiredApplets...), "zcat")...),
		},
		{name: "missing applets", list: "sh\nls\n", wantErr: "busybox lacks the applets cat, dd,"},
		{name: "path in a name", list: all + "\n../evil\n", wantErr: `applet name "../evil" is not a file name`},
		{name: "dot", list: all + "\n.\n", wantErr: `applet name "." is not a file name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseApplets(tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseApplets: err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseApplets: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("applets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadBusyboxRefusesWhatIsNotAStaticBusybox(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"missing", filepath.Join(dir, "busybox"), "not found: install busybox-static (apt-get install busybox-static)"},
		{"not ELF", script, "not an ELF executable"},
	}
	// A dynamically linked program, where the machine has one to hand.
	if _, err := os.Stat("/bin/ls"); err == nil {
		tests = append(tests, struct{ name, path, wantErr string }{"dynamic", "/bin/ls", "dynamically linked"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readBusybox(context.Background(), tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("readBusybox(%s): err = %v, want one containing %q", tt.path, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "apt-get install busybox-static") {
				t.Errorf("readBusybox(%s): err = %v, want advice to install busybox-static", tt.path, err)
			}
		})
	}
}
