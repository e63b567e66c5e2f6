package apiserver

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// compact compacts etcd history every interval, keeping one interval of it, as
// kube-apiserver does; watch caches learn of it so that watches from compacted
// revisions get 410 Gone. Several servers on one etcd may each compact: compacting
// to a revision already compacted is harmless.
func (s *Server) compact(ctx context.Context) {
	if s.opts.CompactionInterval < 0 {
		return
	}
	t := time.NewTicker(s.opts.CompactionInterval)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rev, err := s.store(s.nsKind()).CurrentRevision(ctx)
		if err != nil {
			continue
		}
		if last > 0 {
			if err := s.Compact(ctx, last); err != nil {
				s.log.Warn("etcd compaction failed", "revision", last, "err", err)
			}
		}
		last = rev
	}
}

// Compact compacts etcd history before rev and tells the watch caches.
func (s *Server) Compact(ctx context.Context, rev int64) error {
	_, err := s.client.Compact(ctx, rev)
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return err
	}
	for _, st := range s.stores {
		st.Cacher().Compacted(rev)
	}
	return nil
}
