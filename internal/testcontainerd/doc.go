// Package testcontainerd starts a private containerd for tests.
//
// Tests of the kubelet's runtime run real containers through containerd and
// runc, never a fake. Each test gets its own daemon: a containerd process
// from PATH (Debian's containerd package) with its config, root and state in
// directories of its own and its socket on a short path under /tmp (a unix
// socket path may be at most 107 bytes, too short for t.TempDir()). The CRI
// plugin is disabled, so the daemon holds only what the test creates.
//
//	func TestRun(t *testing.T) {
//		d := testcontainerd.Start(t)
//		client := d.Client() // namespace "berth"; closed when the test ends
//		// ... or give d.Address to the code under test, with d.RuncRoot():
//		rt, err := runtime.New(runtime.Options{Address: d.Address, RuncRoot: d.RuncRoot(), ...})
//	}
//
// RuncRoot keeps runc's state in the daemon's own directory: runc's default,
// /run/containerd/runc/<namespace>, is shared by every daemon on the
// machine, and tests running at once may use the same container IDs.
//
// Stop and Restart stop the daemon and start it again on the same
// directories, as an agent that restarts its containerd does; containers
// keep running under their shims meanwhile.
//
// Start skips the test when it does not run as root, and when containerd,
// its runc shim or runc is missing, with a message naming the packages to
// install; with CI=true a missing binary fails the test instead, because CI
// machines must run every test.
//
// t.Cleanup kills every task the daemon still runs (in every namespace),
// stops the daemon (SIGTERM, then SIGKILL), unmounts whatever is left mounted
// under its root and removes its directories. When the test has failed, the
// end of containerd's log is written to the test log.
package testcontainerd
