package runtime_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// TestDaemonRestartKeepsContainers restarts containerd under running
// containers, as an agent that runs its own containerd does when it
// restarts: a container running throughout is found running with its start
// time, and one that died while containerd was down is reported with its
// exit.
func TestDaemonRestartKeepsContainers(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.run(e.spec("steady", "chatter"))
	e.run(e.spec("dies", "sleep"))
	e.waitLog("steady", "hello stdout\n")
	steady := e.status("steady")
	dies := e.status("dies")
	e.rt.Close()

	e.d.Stop()
	// Killed while the daemon is away.
	if err := syscall.Kill(int(dies.Pid), syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", dies.Pid, err)
	}
	e.d.Restart()
	e.rt = e.newRuntime()

	after := e.status("steady")
	if after.State != runtime.StateRunning || !after.StartedAt.Equal(steady.StartedAt) || after.Pid != steady.Pid {
		t.Errorf("after the restart: %+v; before: %+v", after, steady)
	}
	st := e.wait("dies")
	if st.ExitCode != 137 || st.Reason != runtime.ReasonError {
		t.Errorf("container killed meanwhile: %+v, want exit code 137", st)
	}
	// The log driver survived the restart too.
	if err := e.rt.StopContainer(ctx, "steady", time.Second); err != nil {
		t.Fatal(err)
	}
	if out := e.logText("steady"); out != "hello stdout\nhello stderr\n" && out != "hello stderr\nhello stdout\n" {
		t.Errorf("log = %q", out)
	}
}
