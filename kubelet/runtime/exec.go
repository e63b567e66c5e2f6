package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/errdefs"
)

// Exec implements Runtime.
func (c *Containerd) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, []byte, error) {
	ctx = c.withNS(ctx)
	if len(cmd) == 0 {
		return 0, nil, fmt.Errorf("exec in container %s: no command", id)
	}
	ctr, err := c.loadContainer(ctx, id)
	if err != nil {
		return 0, nil, fmt.Errorf("exec: %w", err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, ErrNotRunning)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = false

	execID, err := newExecID()
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	out := &cappedBuffer{max: MaxExecOutput}
	ioOpts := []cio.Opt{cio.WithStreams(nil, out, out)}
	if c.fifoDir != "" {
		ioOpts = append(ioOpts, cio.WithFIFODir(c.fifoDir))
	}
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(ioOpts...))
	if errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err) {
		return 0, nil, fmt.Errorf("exec in container %s: %w: %w", id, ErrNotRunning, err)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	// Whatever happens, the exec's process and its FIFOs go. Not with ctx:
	// it may be the one that ended.
	defer func() {
		dctx, cancel := context.WithTimeout(c.withNS(context.WithoutCancel(ctx)), 10*time.Second)
		defer cancel()
		if _, err := proc.Delete(dctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			c.log.Warn("delete exec process", "container", id, "exec", execID, "err", err)
		}
	}()
	exited, err := proc.Wait(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, nil, fmt.Errorf("exec %q in container %s: %w", cmd[0], id, err)
	}

	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case st := <-exited:
		code, _, err := st.Result()
		if err != nil {
			return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
		}
		// Delete waits for the output to be copied.
		if _, err := proc.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
		}
		return int(code), out.Bytes(), nil
	case <-expired:
		_ = proc.Kill(ctx, syscall.SIGKILL)
		return 0, out.Bytes(), fmt.Errorf("exec %q in container %s: %w after %v", cmd[0], id, ErrExecTimeout, timeout)
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	}
}

// newExecID returns a random ID for an exec process.
func newExecID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", errors.Join(errors.New("random exec ID"), err)
	}
	return "exec-" + hex.EncodeToString(b), nil
}

// cappedBuffer keeps the first max bytes written to it and drops the rest
// (without failing the writer, so the process is not stopped by a broken
// pipe). Safe for concurrent writers: stdout and stderr share one.
type cappedBuffer struct {
	max int
	mu  sync.Mutex
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}
