package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupOOMKilled(t *testing.T) {
	write := func(t *testing.T, path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"v1 killed", map[string]string{"memory/berth/c1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"}, true},
		{"v1 not killed", map[string]string{"memory/berth/c1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"}, false},
		{"v1 old kernel without the count", map[string]string{"memory/berth/c1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n"}, false},
		{"v2 killed", map[string]string{"cgroup.controllers": "cpu memory\n", "berth/c1/memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"}, true},
		{"v2 not killed", map[string]string{"cgroup.controllers": "cpu memory\n", "berth/c1/memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"}, false},
		{"no cgroup", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for path, data := range tt.files {
				write(t, filepath.Join(root, path), data)
			}
			got, err := cgroupOOMKilled(root, "/berth/c1")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("cgroupOOMKilled = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestCgroupOOMKilledGarbage(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "memory", "c", "memory.oom_control")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("oom_kill many\n"), 0o644)
	if _, err := cgroupOOMKilled(root, "/c"); err == nil {
		t.Errorf("unparsable count: no error")
	}
}
