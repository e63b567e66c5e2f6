package network

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a locked OS thread that has joined the network namespace
// at netnsPath (a /run/netns/NAME file, a pinned namespace from
// [PinNamespaces], or /proc/PID/ns/net), and returns fn's error.
//
// Everything fn does on its own goroutine happens in that namespace:
// sockets it opens stay there after Do returns, and child processes it
// starts (os/exec forks on the calling thread) are born there. Goroutines
// that fn starts run on other threads, in the process's own namespace.
//
// Afterwards the thread returns to the namespace it came from and goes back
// to the Go scheduler. If it cannot return, it stays locked to Do's own
// goroutine and leaves the scheduler with it, so no other goroutine ever
// runs in a foreign namespace.
func Do(netnsPath string, fn func() error) error {
	target, err := unix.Open(netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", netnsPath, err)
	}
	defer unix.Close(target)

	done := make(chan error, 1)
	go func() {
		done <- doLocked(netnsPath, target, fn)
	}()
	return <-done
}

// doLocked is the body of Do on its own goroutine. It unlocks the OS
// thread only when the thread is in its original namespace.
func doLocked(netnsPath string, target int, fn func() error) error {
	runtime.LockOSThread()
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current network namespace %s: %w", self, err)
	}
	defer unix.Close(orig)

	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		// A failed setns leaves the thread where it was.
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", netnsPath, err)
	}
	fnErr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return errors.Join(fnErr, fmt.Errorf("return from network namespace %s: %w", netnsPath, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}
