package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/pkg/kmutex"
	"github.com/containerd/containerd/remotes"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/errdefs"
)

// DefaultNamespace is the containerd namespace the kubelet's containers and
// images live in unless Options say otherwise.
const DefaultNamespace = "berth"

// Options configures New.
type Options struct {
	// Address is containerd's socket. Required.
	Address string
	// Namespace is the containerd namespace used. Default DefaultNamespace.
	Namespace string
	// Snapshotter holds the containers' root filesystems. Default
	// "overlayfs".
	Snapshotter string
	// LogDriver is the berth binary (os.Executable()), which the shim runs
	// as `berth log-driver` to write a container's log file. Required for
	// containers with a LogPath.
	LogDriver string
	// RuncRoot is where runc keeps the state of the containers; give each
	// containerd its own (Daemon.RuncRoot), so that two daemons on one
	// machine cannot mix up containers of the same ID. Default the shim's
	// (/run/containerd/runc).
	RuncRoot string
	// FIFODir holds the FIFOs of Exec's output. Default containerd's
	// (/run/containerd/fifo).
	FIFODir string
	// Logger is for what goes wrong in the background. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for start and finish times. Default time.Now.
	Now func() time.Time
}

// Containerd is the Runtime on a containerd daemon (1.6 or later) with the
// runc v2 shim.
type Containerd struct {
	client      *containerd.Client
	ns          string
	snapshotter string
	logDriver   string
	runcRoot    string
	fifoDir     string
	log         *slog.Logger
	now         func() time.Time
	resolver    remotes.Resolver
	locks       kmutex.KeyedLocker // per container ID: start, reap and remove one at a time
}

var _ Runtime = (*Containerd)(nil)

// New connects to the containerd at opts.Address.
func New(opts Options) (*Containerd, error) {
	if opts.Address == "" {
		return nil, errors.New("containerd runtime: no address given")
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Snapshotter == "" {
		opts.Snapshotter = containerd.DefaultSnapshotter
	}
	if opts.LogDriver != "" && !filepath.IsAbs(opts.LogDriver) {
		return nil, fmt.Errorf("containerd runtime: log driver %q is not an absolute path", opts.LogDriver)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client, err := containerd.New(opts.Address, containerd.WithDefaultNamespace(opts.Namespace))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", opts.Address, err)
	}
	return &Containerd{
		client:      client,
		ns:          opts.Namespace,
		snapshotter: opts.Snapshotter,
		logDriver:   opts.LogDriver,
		runcRoot:    opts.RuncRoot,
		fifoDir:     opts.FIFODir,
		log:         opts.Logger,
		now:         opts.Now,
		resolver: docker.NewResolver(docker.ResolverOptions{
			// Registries are reached over HTTPS, except on the machine itself.
			Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost)),
		}),
		locks: kmutex.New(),
	}, nil
}

// Client returns the containerd client, for callers that need more than the
// Runtime offers (the benchmark, tests).
func (c *Containerd) Client() *containerd.Client { return c.client }

// Close closes the connection to containerd. Containers keep running.
func (c *Containerd) Close() error { return c.client.Close() }

// withNS puts the runtime's namespace in ctx.
func (c *Containerd) withNS(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.ns)
}

// lock takes the per-container lock; unlock with c.locks.Unlock(id).
func (c *Containerd) lock(ctx context.Context, id string) error {
	if err := c.locks.Lock(ctx, id); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	return nil
}

// loadContainer loads container id, mapping NotFound to ErrContainerNotFound.
func (c *Containerd) loadContainer(ctx context.Context, id string) (containerd.Container, error) {
	ctr, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s: %w", id, ErrContainerNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return ctr, nil
}
