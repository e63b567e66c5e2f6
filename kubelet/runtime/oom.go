package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	containerd "github.com/containerd/containerd"
)

// cgroupRoot is where the cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// oomKilled says whether the kernel's OOM killer killed a process of
// container ctr for exceeding its cgroup's memory limit. It reads the
// container's memory cgroup, which exists until its task is deleted:
// memory.oom_control's oom_kill count on cgroup v1, memory.events' on v2.
// Reading the cgroup rather than listening for containerd's /tasks/oom
// events means that a kubelet that was down when the container died still
// learns it.
func (c *Containerd) oomKilled(ctx context.Context, ctr containerd.Container) (bool, error) {
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return false, err
	}
	if spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		return false, nil
	}
	return cgroupOOMKilled(cgroupRoot, spec.Linux.CgroupsPath)
}

// cgroupOOMKilled reads the oom_kill count of the cgroup at path (as a spec's
// cgroupsPath gives it, for the cgroupfs driver) under root.
func cgroupOOMKilled(root, path string) (bool, error) {
	file, key := filepath.Join(root, "memory", path, "memory.oom_control"), "oom_kill"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		file = filepath.Join(root, path, "memory.events") // unified hierarchy
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // no memory cgroup of its own
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", file, err)
	}
	n, err := flatKey(data, key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", file, err)
	}
	return n > 0, nil
}

// flatKey finds "key value" in a flat-keyed cgroup file; absent is 0.
func flatKey(data []byte, key string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if !ok || string(k) != key {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return n, nil
	}
	return 0, sc.Err()
}
