package runtime

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultCPUPeriod is the CFS period when a quota is given without one, the
// kernel's default (100ms).
const defaultCPUPeriod = 100000

// processArgs is a container's command line as Kubernetes builds it: command
// replaces the image's entrypoint (and drops its cmd), args replaces the
// image's cmd.
func processArgs(command, args, entrypoint, cmd []string) ([]string, error) {
	var argv []string
	switch {
	case len(command) > 0:
		argv = append(append(argv, command...), args...)
	case len(args) > 0:
		argv = append(append(argv, entrypoint...), args...)
	default:
		argv = append(append(argv, entrypoint...), cmd...)
	}
	if len(argv) == 0 {
		return nil, errors.New("no command: the container gives none and its image has no entrypoint or cmd")
	}
	return argv, nil
}

// specOpts turns what a ContainerSpec says about the process, namespaces,
// mounts, resources and security into OCI spec options. They apply after
// the image's config (environment, user, working directory) and argv, the
// resolved command line. Options that need the container's root filesystem
// (looking a user up in its /etc/passwd) read it through the client.
func specOpts(spec ContainerSpec, argv []string) ([]oci.SpecOpts, error) {
	opts := []oci.SpecOpts{oci.WithProcessArgs(argv...)}

	env := spec.Env
	if spec.Hostname != "" {
		// As CRI runtimes do; the container's own env may still override it.
		env = append([]string{"HOSTNAME=" + spec.Hostname}, env...)
	}
	env = dedupEnv(env)
	if len(env) > 0 {
		opts = append(opts, oci.WithEnv(env))
	}
	if spec.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(spec.WorkingDir))
	}

	// The default spec gives the container new pid, ipc, uts, mount and
	// network namespaces; a path makes it join the pod's instead.
	for _, ns := range []struct {
		typ  specs.LinuxNamespaceType
		path string
	}{
		{specs.NetworkNamespace, spec.NetNSPath},
		{specs.IPCNamespace, spec.IPCNSPath},
		{specs.UTSNamespace, spec.UTSNSPath},
	} {
		if ns.path != "" {
			opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: ns.typ, Path: ns.path}))
		}
	}
	if spec.Hostname != "" {
		opts = append(opts, oci.WithHostname(spec.Hostname))
	}

	if len(spec.Mounts) > 0 {
		mounts := make([]specs.Mount, 0, len(spec.Mounts))
		for _, m := range spec.Mounts {
			if !path.IsAbs(m.HostPath) || !path.IsAbs(m.ContainerPath) {
				return nil, fmt.Errorf("mount %s on %s: both paths must be absolute", m.HostPath, m.ContainerPath)
			}
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			mounts = append(mounts, specs.Mount{
				Destination: m.ContainerPath,
				Type:        "bind",
				Source:      m.HostPath,
				Options:     []string{"rbind", "rprivate", mode},
			})
		}
		opts = append(opts, oci.WithMounts(mounts))
	}

	if spec.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(spec.CPUShares))
	}
	if spec.CPUQuota > 0 {
		period := spec.CPUPeriod
		if period == 0 {
			period = defaultCPUPeriod
		}
		opts = append(opts, oci.WithCPUCFS(spec.CPUQuota, period))
	}
	if spec.MemoryLimit < 0 {
		return nil, fmt.Errorf("memory limit %d is negative", spec.MemoryLimit)
	}
	if spec.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(spec.MemoryLimit)))
	}
	if spec.CgroupParent != "" {
		opts = append(opts, oci.WithCgroup(path.Join(spec.CgroupParent, spec.ID)))
	}

	userOpt, err := userOpts(spec.RunAsUser, spec.RunAsGroup)
	if err != nil {
		return nil, err
	}
	if userOpt != nil {
		opts = append(opts, userOpt)
	}
	if spec.ReadOnlyRootFS {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if spec.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	return opts, nil
}

// dedupEnv keeps one entry per name: the last one's value, at the first
// one's place, as a process would see it had each been set in turn.
func dedupEnv(env []string) []string {
	at := make(map[string]int, len(env))
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := at[name]; ok {
			out[i] = kv
			continue
		}
		at[name] = len(out)
		out = append(out, kv)
	}
	return out
}

// userOpts replaces the image's user and group as runAsUser and runAsGroup
// do: a user without a group takes its group from the image's /etc/passwd
// (0 if it has none there).
func userOpts(uid, gid *int64) (oci.SpecOpts, error) {
	for _, id := range []*int64{uid, gid} {
		if id != nil && (*id < 0 || *id > 1<<32-2) {
			return nil, fmt.Errorf("user or group ID %d out of range", *id)
		}
	}
	switch {
	case uid != nil && gid != nil:
		return oci.WithUIDGID(uint32(*uid), uint32(*gid)), nil
	case uid != nil:
		return oci.WithUserID(uint32(*uid)), nil
	case gid != nil:
		g := uint32(*gid)
		return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			if s.Process == nil {
				s.Process = &specs.Process{}
			}
			s.Process.User.GID = g
			return nil
		}, nil
	}
	return nil, nil
}
