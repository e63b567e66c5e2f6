package runtime

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/containers"
)

// ListContainers implements Runtime.
func (c *Containerd) ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error) {
	ctx = c.withNS(ctx)
	list, err := c.client.ContainerService().List(ctx, labelFilter(labels))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	slices.SortFunc(list, func(a, b containers.Container) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	infos := make([]ContainerInfo, 0, len(list))
	for _, ctr := range list {
		infos = append(infos, ContainerInfo{
			ID:        ctr.ID,
			Image:     ctr.Image,
			Labels:    userLabels(ctr.Labels),
			CreatedAt: ctr.CreatedAt,
		})
	}
	return infos, nil
}

// labelFilter is a containerd filter matching containers that have all of
// labels ("" for none, which matches all).
func labelFilter(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "labels."+strconv.Quote(k)+"=="+strconv.Quote(labels[k]))
	}
	return strings.Join(parts, ",")
}
