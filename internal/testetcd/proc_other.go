//go:build !linux

package testetcd

import "os/exec"

// setDeathSignal does nothing here: only Linux can tie a child's life to its
// parent's. Cleanup still kills every member of a test that ends normally.
func setDeathSignal(cmd *exec.Cmd) {}
