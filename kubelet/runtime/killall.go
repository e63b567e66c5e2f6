package runtime

import (
	"context"
	"errors"
	"fmt"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
)

// KillAllTasks kills and deletes the task of every container in every namespace
// of the containerd at address, so that no shim, container process or rootfs
// mount outlives the daemon (tests and benchmarks call it before stopping a
// private containerd).
func KillAllTasks(ctx context.Context, address string) error {
	client, err := containerd.New(address)
	if err != nil {
		return fmt.Errorf("containerd client: %w", err)
	}
	defer client.Close()
	nss, err := client.NamespaceService().List(ctx)
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	var errs []error
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		cs, err := client.Containers(nctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range cs {
			if t, err := c.Task(nctx, nil); err == nil {
				if _, err := t.Delete(nctx, containerd.WithProcessKill); err != nil {
					errs = append(errs, fmt.Errorf("kill task %s: %w", c.ID(), err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
