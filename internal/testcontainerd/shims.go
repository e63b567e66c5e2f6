package testcontainerd

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// killShims kills the containerd shims still serving containers of the
// daemon at address once it is stopped: a shim whose task was killed but
// not deleted (an agent that died between the two) outlives its daemon,
// and a test must leave no process behind.
func killShims(address string) []int {
	var killed []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(cmd, "\x00"), []byte{0})
		if len(args) == 0 || !bytes.Contains(args[0], []byte("containerd-shim")) || !hasArg(args, "-address", address) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	return killed
}

// hasArg says whether args hold flag followed by value.
func hasArg(args [][]byte, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if string(args[i]) == flag && string(args[i+1]) == value {
			return true
		}
	}
	return false
}
