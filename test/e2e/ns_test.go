package e2e

import (
	"context"

	"github.com/containerd/containerd/namespaces"

	"github.com/berth-dev/berth/internal/testcontainerd"
)

// namespacesCtx puts the kubelet's containerd namespace in ctx.
func namespacesCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, testcontainerd.Namespace)
}
