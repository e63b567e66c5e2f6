package network

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
)

// AllocatedIPs lists the pod addresses host-local has handed out and not
// released, in order: one file per address in DataDir/berth/. After every
// pod's Teardown it is empty; tests use it to show that nothing leaks.
func (n *Network) AllocatedIPs() ([]netip.Addr, error) {
	dir := filepath.Join(n.ipamDir, networkName)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list allocated pod addresses: %w", err)
	}
	var ips []netip.Addr
	for _, e := range entries {
		// Other files are host-local's lock and last_reserved_ip.N.
		if addr, err := netip.ParseAddr(e.Name()); err == nil && e.Type().IsRegular() {
			ips = append(ips, addr)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips, nil
}
