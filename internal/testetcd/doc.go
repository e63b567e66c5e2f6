// Package testetcd starts real etcd servers for tests: one embedded in the
// test process, or a cluster of external etcd processes.
//
// berth stores everything in etcd, either embedded in the data directory or in
// an external etcd cluster (--etcd-endpoints). Tests run against both, with no
// fake in between, so that they see true etcd semantics: revisions,
// compaction, watch, and what happens when a member dies.
//
// StartEmbedded runs go.etcd.io/etcd/server/v3/embed on free loopback ports
// with its data in t.TempDir(). It needs nothing installed.
//
// StartCluster runs n members of the etcd binary found on PATH (Debian's
// etcd-server package; bookworm ships etcd 3.4) as child processes, each with
// its own data directory and log file in t.TempDir(). Without an etcd binary
// the test is skipped, unless CI=true, where it fails: CI machines are set up
// by .ci/run and must run every test.
//
// Everything started is stopped by t.Cleanup. When the test has failed, the
// last lines of each etcd log are written to the test log.
//
// Both return an [Etcd], so a suite can run against each backend:
//
//	func TestStore(t *testing.T) {
//		backends := map[string]func(t *testing.T) testetcd.Etcd{
//			"embedded": func(t *testing.T) testetcd.Etcd { return testetcd.StartEmbedded(t) },
//			"cluster":  func(t *testing.T) testetcd.Etcd { return testetcd.StartCluster(t, 3) },
//		}
//		for name, start := range backends {
//			t.Run(name, func(t *testing.T) {
//				e := start(t)
//				store := storage.New(e.Client()) // or dial e.Endpoints() yourself
//				// ...
//			})
//		}
//	}
//
// A cluster test can take members away and bring them back:
//
//	c := testetcd.StartCluster(t, 3)
//	c.Kill(0)    // SIGKILL: no clean shutdown, as in a crash
//	// ... writes through c.Client() still succeed with two of three members
//	c.Restart(0) // same data directory; returns once the member serves again
package testetcd
