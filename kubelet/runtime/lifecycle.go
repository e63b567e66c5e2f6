package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/identifiers"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/kubelet/logs"
)

// exitCodeStartError is the exit code of a container whose process could
// not be started, as Kubernetes' runtimes report it.
const exitCodeStartError = 128

// CreateContainer implements Runtime.
func (c *Containerd) CreateContainer(ctx context.Context, spec ContainerSpec) error {
	ctx = c.withNS(ctx)
	if err := identifiers.Validate(spec.ID); err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	for k := range spec.Labels {
		if strings.HasPrefix(k, stateLabelPrefix) {
			return fmt.Errorf("create container %s: label %s: the prefix %s is reserved", spec.ID, k, stateLabelPrefix)
		}
	}
	if spec.LogPath != "" {
		if !filepath.IsAbs(spec.LogPath) {
			return fmt.Errorf("create container %s: log path %q is not absolute", spec.ID, spec.LogPath)
		}
		if c.logDriver == "" {
			return fmt.Errorf("create container %s: a log path is given but the runtime has no log driver (Options.LogDriver)", spec.ID)
		}
	}
	image, imageID, err := c.getImage(ctx, spec.Image)
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	imageSpec, err := image.Spec(ctx)
	if err != nil {
		return fmt.Errorf("create container %s: image %s: %w", spec.ID, image.Name(), err)
	}
	argv, err := processArgs(spec.Command, spec.Args, imageSpec.Config.Entrypoint, imageSpec.Config.Cmd)
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	opts, err := specOpts(spec, argv)
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}

	labels := make(map[string]string, len(spec.Labels)+3)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[labelImageID] = imageID
	if spec.LogPath != "" {
		labels[labelLogPath] = spec.LogPath
		labels[labelLogMaxSize] = strconv.FormatInt(spec.LogMaxSize, 10)
	}
	_, err = c.client.NewContainer(ctx, spec.ID,
		containerd.WithContainerLabels(labels),
		containerd.WithImageStopSignal(image, "SIGTERM"),
		containerd.WithImageName(image.Name()),
		containerd.WithSnapshotter(c.snapshotter),
		containerd.WithNewSnapshot(spec.ID, image),
		containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(image)}, opts...)...),
		containerd.WithRuntime(plugin.RuntimeRuncV2, c.runtimeOptions()),
	)
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	return nil
}

// runtimeOptions are the runc shim's options for new containers.
func (c *Containerd) runtimeOptions() any {
	if c.runcRoot == "" {
		return nil
	}
	return &runcoptions.Options{Root: c.runcRoot}
}

// StartContainer implements Runtime.
func (c *Containerd) StartContainer(ctx context.Context, id string) error {
	ctx = c.withNS(ctx)
	if err := c.lock(ctx, id); err != nil {
		return err
	}
	defer c.locks.Unlock(id)
	ctr, err := c.loadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	labels, err := ctr.Labels(ctx)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if _, done, _ := parseExitRecord(labels); done {
		return fmt.Errorf("start container %s: it has run already; a container runs once", id)
	}

	task, err := ctr.Task(ctx, nil)
	switch {
	case err == nil:
		// A task created by a start that did not finish (the kubelet died).
		st, err := task.Status(ctx)
		if err != nil {
			return fmt.Errorf("start container %s: %w", id, err)
		}
		if st.Status != containerd.Created {
			return fmt.Errorf("start container %s: already started (%s)", id, st.Status)
		}
	case errdefs.IsNotFound(err):
		ioCreator, err := c.taskIO(labels)
		if err != nil {
			return fmt.Errorf("start container %s: %w", id, err)
		}
		task, err = ctr.NewTask(ctx, ioCreator)
		if err != nil {
			return c.startFailed(ctx, ctr, nil, err)
		}
	default:
		return fmt.Errorf("start container %s: %w", id, err)
	}
	// Read before starting: a process that exits at once must not have
	// finished before it started.
	startedAt := c.now()
	if err := task.Start(ctx); err != nil {
		return c.startFailed(ctx, ctr, task, err)
	}
	if _, err := ctr.SetLabels(ctx, map[string]string{labelStartedAt: formatTime(startedAt)}); err != nil {
		// It runs: say so. Its status falls back on the container's update time.
		c.log.Warn("record a container's start time", "container", id, "err", err)
	}
	return nil
}

// taskIO is where a new task's output goes: the log driver writing the log
// file the labels name, or nowhere.
func (c *Containerd) taskIO(labels map[string]string) (cio.Creator, error) {
	path := labels[labelLogPath]
	if path == "" {
		return cio.NullIO, nil
	}
	maxSize, err := strconv.ParseInt(labels[labelLogMaxSize], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("label %s: %w", labelLogMaxSize, err)
	}
	if c.logDriver == "" {
		return nil, errors.New("the runtime has no log driver (Options.LogDriver)")
	}
	// Fail here, where the kubelet sees it, rather than in the log driver.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f.Close()
	return cio.BinaryIO(c.logDriver, logs.DriverArgs(logs.DriverSpec{Path: path, MaxSize: maxSize})), nil
}

// startFailed records that container ctr could not start (its task, if
// any, is deleted) and returns the error to report.
func (c *Containerd) startFailed(ctx context.Context, ctr containerd.Container, task containerd.Task, cause error) error {
	if task != nil {
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			c.log.Warn("delete task of a container that failed to start", "container", ctr.ID(), "err", err)
		}
	}
	rec := exitRecord{finishedAt: c.now(), exitCode: exitCodeStartError, reason: ReasonStartError, message: cause.Error()}
	if _, err := ctr.SetLabels(ctx, rec.labels()); err != nil {
		c.log.Warn("record start failure", "container", ctr.ID(), "err", err)
	}
	return fmt.Errorf("start container %s: %w", ctr.ID(), cause)
}

// StopContainer implements Runtime.
func (c *Containerd) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx = c.withNS(ctx)
	ctr, err := c.loadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil // never started, or exited and reaped
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("stop container %s: wait: %w", id, err)
	}
	if grace > 0 {
		sig, err := containerd.GetStopSignal(ctx, ctr, syscall.SIGTERM)
		if err != nil {
			return fmt.Errorf("stop container %s: stop signal: %w", id, err)
		}
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: signal %v: %w", id, sig, err)
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-exited:
			return c.reap(ctx, id)
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("stop container %s: %w", id, ctx.Err())
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: SIGKILL: %w", id, err)
	}
	select {
	case <-exited:
		return c.reap(ctx, id)
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: waiting for exit after SIGKILL: %w", id, ctx.Err())
	}
}

// RemoveContainer implements Runtime.
func (c *Containerd) RemoveContainer(ctx context.Context, id string) error {
	ctx = c.withNS(ctx)
	if err := c.lock(ctx, id); err != nil {
		return err
	}
	defer c.locks.Unlock(id)
	ctr, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	switch {
	case err == nil:
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove container %s: delete task: %w", id, err)
		}
	case !errdefs.IsNotFound(err):
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}
