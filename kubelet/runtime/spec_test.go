package runtime

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestProcessArgs(t *testing.T) {
	entrypoint, cmd := []string{"/entry", "-x"}, []string{"serve", "--port=80"}
	tests := []struct {
		name                  string
		command, args         []string
		entrypoint, imagesCmd []string
		want                  []string
		wantErr               bool
	}{
		{name: "image defaults", entrypoint: entrypoint, imagesCmd: cmd, want: []string{"/entry", "-x", "serve", "--port=80"}},
		{name: "args replace the image's cmd", args: []string{"check"}, entrypoint: entrypoint, imagesCmd: cmd, want: []string{"/entry", "-x", "check"}},
		{name: "command replaces entrypoint and drops cmd", command: []string{"/bin/sh"}, entrypoint: entrypoint, imagesCmd: cmd, want: []string{"/bin/sh"}},
		{name: "command and args", command: []string{"/bin/sh", "-c"}, args: []string{"echo hi"}, entrypoint: entrypoint, imagesCmd: cmd, want: []string{"/bin/sh", "-c", "echo hi"}},
		{name: "image with only a cmd", imagesCmd: cmd, want: cmd},
		{name: "args without an entrypoint", args: []string{"/bin/true"}, imagesCmd: cmd, want: []string{"/bin/true"}},
		{name: "nothing at all", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := processArgs(tt.command, tt.args, tt.entrypoint, tt.imagesCmd)
			if (err != nil) != tt.wantErr {
				t.Fatalf("processArgs error = %v, want error %t", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("processArgs (-want +got):\n%s", diff)
			}
			if len(tt.entrypoint) > 0 && tt.entrypoint[0] != "/entry" {
				t.Errorf("processArgs changed the image's entrypoint")
			}
		})
	}
}

// applySpec applies specOpts for spec to containerd's default spec, as
// CreateContainer does after the image's config.
func applySpec(t *testing.T, spec ContainerSpec) (*oci.Spec, error) {
	t.Helper()
	opts, err := specOpts(spec, []string{"/app"})
	if err != nil {
		return nil, err
	}
	ctx := namespaces.WithNamespace(context.Background(), "berth")
	return oci.GenerateSpec(ctx, nil, &containers.Container{ID: spec.ID}, opts...)
}

func namespacePath(s *oci.Spec, typ specs.LinuxNamespaceType) (path string, present bool) {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns.Path, true
		}
	}
	return "", false
}

func TestSpecOptsNamespaces(t *testing.T) {
	s, err := applySpec(t, ContainerSpec{ID: "c1", NetNSPath: "/run/netns/pod", IPCNSPath: "/pods/ipc", UTSNSPath: "/pods/uts", Hostname: "web-0"})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[specs.LinuxNamespaceType]string{
		specs.NetworkNamespace: "/run/netns/pod",
		specs.IPCNamespace:     "/pods/ipc",
		specs.UTSNamespace:     "/pods/uts",
		specs.PIDNamespace:     "",
		specs.MountNamespace:   "",
	} {
		if got, ok := namespacePath(s, typ); !ok || got != want {
			t.Errorf("%s namespace: path %q (present %t), want %q", typ, got, ok, want)
		}
	}
	if s.Hostname != "web-0" || !slices.Contains(s.Process.Env, "HOSTNAME=web-0") {
		t.Errorf("hostname %q, env %q; want web-0 in both", s.Hostname, s.Process.Env)
	}
	if !slices.Equal(s.Process.Args, []string{"/app"}) {
		t.Errorf("args = %q", s.Process.Args)
	}

	// No paths: new namespaces of the container's own, never the host's.
	s, err = applySpec(t, ContainerSpec{ID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		if got, ok := namespacePath(s, typ); !ok || got != "" {
			t.Errorf("%s namespace: path %q (present %t), want a new one", typ, got, ok)
		}
	}
}

func TestSpecOptsProcessAndMounts(t *testing.T) {
	s, err := applySpec(t, ContainerSpec{
		ID:         "c1",
		Env:        []string{"A=1", "HOSTNAME=mine"},
		Hostname:   "web-0",
		WorkingDir: "/work",
		Mounts: []Mount{
			{HostPath: "/var/lib/berth/pods/u/volumes/data", ContainerPath: "/data"},
			{HostPath: "/var/lib/berth/pods/u/etc-hosts", ContainerPath: "/etc/hosts", ReadOnly: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Process.Env, "A=1") || !slices.Contains(s.Process.Env, "HOSTNAME=mine") || slices.Contains(s.Process.Env, "HOSTNAME=web-0") {
		t.Errorf("env = %q; want A=1 and the container's own HOSTNAME", s.Process.Env)
	}
	if s.Process.Cwd != "/work" {
		t.Errorf("cwd = %q", s.Process.Cwd)
	}
	want := []specs.Mount{
		{Destination: "/data", Type: "bind", Source: "/var/lib/berth/pods/u/volumes/data", Options: []string{"rbind", "rprivate", "rw"}},
		{Destination: "/etc/hosts", Type: "bind", Source: "/var/lib/berth/pods/u/etc-hosts", Options: []string{"rbind", "rprivate", "ro"}},
	}
	if diff := cmp.Diff(want, s.Mounts[len(s.Mounts)-2:]); diff != "" {
		t.Errorf("bind mounts (-want +got):\n%s", diff)
	}
}

func TestDedupEnv(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, []string{}},
		{[]string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2", "A=3"}, []string{"A=3", "B=2"}},
		{[]string{"A", "A=", "B=x=y"}, []string{"A=", "B=x=y"}},
	}
	for _, tt := range tests {
		if got := dedupEnv(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("dedupEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSpecOptsResources(t *testing.T) {
	s, err := applySpec(t, ContainerSpec{ID: "c1", CPUShares: 256, CPUQuota: 25000, MemoryLimit: 64 << 20, CgroupParent: "/kubepods/pod-uid"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	if *r.CPU.Shares != 256 || *r.CPU.Quota != 25000 || *r.CPU.Period != defaultCPUPeriod || *r.Memory.Limit != 64<<20 {
		t.Errorf("resources: shares %d quota %d period %d memory %d", *r.CPU.Shares, *r.CPU.Quota, *r.CPU.Period, *r.Memory.Limit)
	}
	if s.Linux.CgroupsPath != "/kubepods/pod-uid/c1" {
		t.Errorf("cgroups path %q", s.Linux.CgroupsPath)
	}

	s, err = applySpec(t, ContainerSpec{ID: "c2", CPUQuota: 1000, CPUPeriod: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Linux.Resources; *r.CPU.Period != 5000 || r.Memory != nil && r.Memory.Limit != nil {
		t.Errorf("quota with its own period: period %d; memory %+v", *r.CPU.Period, r.Memory)
	}
	if s.Linux.CgroupsPath != "/berth/c2" {
		t.Errorf("default cgroups path %q, want /berth/c2", s.Linux.CgroupsPath)
	}
}

func TestSpecOptsSecurity(t *testing.T) {
	uid, gid := int64(1000), int64(3000)
	s, err := applySpec(t, ContainerSpec{ID: "c1", RunAsUser: &uid, RunAsGroup: &gid, ReadOnlyRootFS: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 1000 || s.Process.User.GID != 3000 || !s.Root.Readonly {
		t.Errorf("user %+v, read-only root %t", s.Process.User, s.Root.Readonly)
	}
	s, err = applySpec(t, ContainerSpec{ID: "c2", RunAsGroup: &gid})
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 0 || s.Process.User.GID != 3000 {
		t.Errorf("group only: user %+v", s.Process.User)
	}

	plain, err := applySpec(t, ContainerSpec{ID: "c3"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plain.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") || len(plain.Linux.MaskedPaths) == 0 {
		t.Errorf("an unprivileged container has CAP_SYS_ADMIN or no masked paths")
	}
	priv, err := applySpec(t, ContainerSpec{ID: "c4", Privileged: true})
	if err != nil {
		t.Fatal(err)
	}
	// A privileged container gets the capabilities the kubelet has: all of
	// them as root.
	hasSysAdmin := slices.Contains(priv.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	if hasSysAdmin != (os.Geteuid() == 0) || len(priv.Linux.MaskedPaths) != 0 || priv.Linux.Seccomp != nil {
		t.Errorf("privileged: caps %v, masked %v, seccomp %v", priv.Process.Capabilities.Bounding, priv.Linux.MaskedPaths, priv.Linux.Seccomp)
	}
	if d := priv.Linux.Resources.Devices; len(d) == 0 || !d[len(d)-1].Allow || d[len(d)-1].Access != "rwm" {
		t.Errorf("privileged: device rules %+v, want all allowed", d)
	}
}

func TestSpecOptsErrors(t *testing.T) {
	neg := int64(-1)
	for name, spec := range map[string]ContainerSpec{
		"relative host path":      {ID: "c", Mounts: []Mount{{HostPath: "data", ContainerPath: "/data"}}},
		"relative container path": {ID: "c", Mounts: []Mount{{HostPath: "/data", ContainerPath: "data"}}},
		"negative memory":         {ID: "c", MemoryLimit: -5},
		"negative uid":            {ID: "c", RunAsUser: &neg},
	} {
		if _, err := specOpts(spec, []string{"/app"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
