package runtime

import (
	"context"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/errdefs"
)

// waitPoll is how often WaitContainer looks again at a container that has
// no task yet.
const waitPoll = 200 * time.Millisecond

// ContainerStatus implements Runtime.
//
// A container found exited whose task is still there is reaped on the way:
// its exit (code, time, whether the kernel killed it for memory) is written
// into its labels, then its task is deleted, which ends its shim and its
// log driver.
func (c *Containerd) ContainerStatus(ctx context.Context, id string) (ContainerStatus, error) {
	ctx = c.withNS(ctx)
	ctr, err := c.loadContainer(ctx, id)
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status: %w", err)
	}
	task, err := ctr.Task(ctx, nil)
	switch {
	case errdefs.IsNotFound(err):
		return c.statusFromInfo(ctx, ctr, nil)
	case err != nil:
		return ContainerStatus{}, fmt.Errorf("status of container %s: %w", id, err)
	}
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return c.statusFromInfo(ctx, ctr, nil) // reaped meanwhile
	}
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status of container %s: %w", id, err)
	}
	if st.Status == containerd.Stopped {
		if err := c.reap(ctx, id); err != nil {
			return ContainerStatus{}, err
		}
		return c.statusFromInfo(ctx, ctr, nil)
	}
	return c.statusFromInfo(ctx, ctr, &taskState{status: st.Status, pid: task.Pid()})
}

// taskState is what a live task adds to a container's status.
type taskState struct {
	status containerd.ProcessStatus
	pid    uint32
}

// statusFromInfo builds a container's status from its record in containerd
// and, when it has a task not yet exited, that task's state.
func (c *Containerd) statusFromInfo(ctx context.Context, ctr containerd.Container, ts *taskState) (ContainerStatus, error) {
	info, err := ctr.Info(ctx) // fresh: a reap may just have changed the labels
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status of container %s: %w", ctr.ID(), err)
	}
	status := ContainerStatus{
		ID:        info.ID,
		Image:     info.Image,
		ImageID:   info.Labels[labelImageID],
		Labels:    userLabels(info.Labels),
		CreatedAt: info.CreatedAt,
		State:     StateCreated,
	}
	status.StartedAt, err = parseTime(info.Labels[labelStartedAt])
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status of container %s: label %s: %w", ctr.ID(), labelStartedAt, err)
	}
	rec, exited, err := parseExitRecord(info.Labels)
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status of container %s: %w", ctr.ID(), err)
	}
	switch {
	case exited:
		status.State = StateExited
		status.FinishedAt = rec.finishedAt
		status.ExitCode = rec.exitCode
		status.OOMKilled = rec.oomKilled
		status.Reason = rec.reasonText()
		status.Message = rec.message
	case ts == nil:
		// No task and no exit: created, not started.
	case ts.status == containerd.Running || ts.status == containerd.Paused || ts.status == containerd.Pausing:
		status.State = StateRunning
		status.Pid = ts.pid
		if status.StartedAt.IsZero() {
			// The kubelet died between starting the task and noting when.
			status.StartedAt = info.UpdatedAt
		}
	case ts.status == containerd.Created:
	default:
		status.State = StateUnknown
	}
	return status, nil
}

// reap records the exit of container id's task, if it has exited, in the
// container's labels and deletes the task.
func (c *Containerd) reap(ctx context.Context, id string) error {
	if err := c.lock(ctx, id); err != nil {
		return err
	}
	defer c.locks.Unlock(id)
	ctr, err := c.loadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("reap: %w", err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil // reaped already
	}
	if err != nil {
		return fmt.Errorf("reap container %s: %w", id, err)
	}
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reap container %s: %w", id, err)
	}
	if st.Status != containerd.Stopped {
		return nil
	}
	rec := exitRecord{finishedAt: st.ExitTime, exitCode: int(st.ExitStatus)}
	if rec.finishedAt.IsZero() {
		rec.finishedAt = c.now()
	}
	// The cgroup goes with the task: read it first.
	rec.oomKilled, err = c.oomKilled(ctx, ctr)
	if err != nil {
		c.log.Warn("cannot tell whether a container was killed for memory", "container", id, "err", err)
	}
	if _, err := ctr.SetLabels(ctx, rec.labels()); err != nil {
		return fmt.Errorf("reap container %s: record exit: %w", id, err)
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("reap container %s: delete task: %w", id, err)
	}
	return nil
}

// WaitContainer implements Runtime.
func (c *Containerd) WaitContainer(ctx context.Context, id string) (ContainerStatus, error) {
	nctx := c.withNS(ctx)
	ctr, err := c.loadContainer(nctx, id)
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("wait: %w", err)
	}
	for {
		task, err := ctr.Task(nctx, nil)
		if err == nil {
			exited, err := task.Wait(nctx)
			if err == nil {
				select {
				case <-exited:
				case <-ctx.Done():
					return ContainerStatus{}, fmt.Errorf("wait for container %s: %w", id, ctx.Err())
				}
			} else if !errdefs.IsNotFound(err) {
				return ContainerStatus{}, fmt.Errorf("wait for container %s: %w", id, err)
			}
		} else if !errdefs.IsNotFound(err) {
			return ContainerStatus{}, fmt.Errorf("wait for container %s: %w", id, err)
		}
		st, err := c.ContainerStatus(ctx, id)
		if err != nil || st.State == StateExited {
			return st, err
		}
		// Not started yet (no task), or not exited after all.
		select {
		case <-ctx.Done():
			return ContainerStatus{}, fmt.Errorf("wait for container %s: %w", id, ctx.Err())
		case <-time.After(waitPoll):
		}
	}
}
