package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/berth-dev/berth/internal/mounts"
)

// nodeWork is the scratch space of a figure that runs a node: a temp dir and
// a node network namespace (see newBenchNode), with cleanups that run, last
// added first, at close.
type nodeWork struct {
	dir, netns string
	cleanups   []func()
}

// newNodeWork makes the temp dir (unmounted below and removed at close) and
// the node namespace (deleted at close) of the figure called name.
func (b *bench) newNodeWork(name string) (*nodeWork, error) {
	dir, err := os.MkdirTemp("", "berth-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	w := &nodeWork{dir: dir}
	w.onClose(func() {
		if err := mounts.UnmountUnder(dir); err != nil {
			b.logf("%s: unmount under %s: %v", name, dir, err)
		}
		os.RemoveAll(dir)
	})
	if w.netns, err = newBenchNode(); err != nil {
		w.close()
		return nil, err
	}
	w.onClose(func() {
		if out, err := exec.Command("ip", "netns", "delete", w.netns).CombinedOutput(); err != nil {
			b.logf("%s: ip netns delete %s: %v: %s", name, w.netns, err, out)
		}
	})
	return w, nil
}

// onClose adds a cleanup; close runs it before those added earlier.
func (w *nodeWork) onClose(f func()) { w.cleanups = append(w.cleanups, f) }

// close runs the cleanups, last added first.
func (w *nodeWork) close() {
	for _, c := range slices.Backward(w.cleanups) {
		c()
	}
	w.cleanups = nil
}
