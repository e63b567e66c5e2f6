// Package backoff is the kubelet's crash-loop backoff: after a container
// exits, the kubelet waits before restarting it, starting at 10s and
// doubling up to 5 minutes; a container that ran for at least 10 minutes
// resets its backoff.
//
// The pod worker calls Next when a container has exited and it wants to
// restart it, InBackoff before each restart attempt, and RanFor when it sees
// how long the last run lasted:
//
//	b := backoff.New(backoff.Options{})
//	b.RanFor(key, finished.Sub(started))
//	if b.InBackoff(key, now) { // "CrashLoopBackOff"
//		return
//	}
//	b.Next(key, now) // schedule the next wait, then restart
//
// Time is passed in, never read, so tests are exact.
package backoff
