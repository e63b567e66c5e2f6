package network_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
)

func TestDo(t *testing.T) {
	node := netnstest.NewNode(t, "do")
	want := nsInode(t, node.Path)

	// Many at once, so that threads are reused by the scheduler if Do
	// ever handed one back in the wrong namespace.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			err := network.Do(node.Path, func() error {
				got := threadNetNS(t)
				if got != want {
					return fmt.Errorf("fn runs in network namespace %d, want the node's %d", got, want)
				}
				return nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkThreadsHome(t)

	// A child process started in fn is born in the namespace.
	out, err := runIn(node.Path, "ip", "-o", "-4", "addr", "show", netnstest.Uplink)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, node.IP.String()) {
		t.Errorf("ip addr in the node: %s, want %s", out, node.IP)
	}
}

func TestDoErrors(t *testing.T) {
	node := netnstest.NewNode(t, "do-errors")
	sentinel := errors.New("from fn")
	if err := network.Do(node.Path, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do = %v, want fn's error", err)
	}
	if err := network.Do("/nonexistent/netns", func() error { return nil }); err == nil {
		t.Errorf("Do of a missing path: no error")
	}
	called := false
	if err := network.Do("/proc/self/ns/uts", func() error { called = true; return nil }); err == nil || called {
		t.Errorf("Do of a UTS namespace = %v (fn called: %v), want an error before fn", err, called)
	}
	checkThreadsHome(t)
}

// threadNetNS returns the network namespace of the calling thread.
func threadNetNS(t *testing.T) uint64 {
	return nsInode(t, "/proc/thread-self/ns/net")
}
