package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ListOptions say which objects a list returns and how fresh they must be.
type ListOptions struct {
	// KeyPrefix limits the list to keys under it (a namespace); empty: all.
	KeyPrefix string
	Predicate Predicate
	// Limit caps the items returned (0: all); Continue resumes a limited list.
	Limit    int64
	Continue string
	// ResourceVersion "" asks for the latest state, "0" for any cached state, "N"
	// for state at least as new as N (or exactly N with ResourceVersionMatch Exact).
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
}

// ListResult is one page of a list.
type ListResult struct {
	Items []*Entry
	// RV is the revision the list reflects.
	RV int64
	// Continue is the token of the next page ("" on the last page).
	Continue string
	// Remaining counts the items after this page, when known.
	Remaining *int64
}

// List returns the objects that match opts, from the watch cache when it is fresh
// enough and from etcd otherwise (exact or paged reads at an older revision).
func (s *Store) List(ctx context.Context, o ListOptions) (*ListResult, error) {
	prefix := s.prefix + o.KeyPrefix
	if o.Continue != "" {
		rv, start, err := decodeContinue(o.Continue, s.prefix)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(start, prefix) {
			return nil, apierrors.NewBadRequest("continue key is not in the requested namespace")
		}
		return s.listAt(ctx, prefix, start, rv, o)
	}
	c := s.cacher
	switch {
	case o.ResourceVersion == "":
		if err := c.Fresh(ctx, defaultWaitTimeout); err != nil {
			// The cache lags: read etcd directly.
			return s.listAt(ctx, prefix, "", 0, o)
		}
	case o.ResourceVersion == "0":
		select {
		case <-c.Ready():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	default:
		rv, err := ParseResourceVersion(o.ResourceVersion)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if o.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
			return s.listAt(ctx, prefix, "", rv, o)
		}
		if err := c.WaitFor(ctx, rv, defaultWaitTimeout); err != nil {
			return nil, err
		}
	}
	items, rev, more := c.Snapshot(prefix, "", o.Limit, o.Predicate)
	return s.page(items, rev, more, true), nil
}

// listAt lists at exactly revision rv (0: now): from the cache when it is at rv,
// else from etcd.
func (s *Store) listAt(ctx context.Context, prefix, start string, rv int64, o ListOptions) (*ListResult, error) {
	if rv > 0 && s.cacher.ResourceVersion() == rv {
		items, rev, more := s.cacher.Snapshot(prefix, start, o.Limit, o.Predicate)
		if rev == rv {
			return s.page(items, rev, more, true), nil
		}
	}
	items, rev, err := s.listEtcd(ctx, prefix, start, rv, o.Limit, o.Predicate)
	if err != nil {
		if apierrors.IsResourceExpired(err) && start != "" {
			return nil, apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
		}
		return nil, err
	}
	var more int64
	if o.Limit > 0 && int64(len(items)) > o.Limit {
		items, more = items[:o.Limit], 1
	}
	return s.page(items, rev, more, false), nil
}

// page builds a result; more > 0 means items follow the last one.
func (s *Store) page(items []*Entry, rev, more int64, counted bool) *ListResult {
	r := &ListResult{Items: items, RV: rev}
	if more > 0 && len(items) > 0 {
		r.Continue = encodeContinue(rev, items[len(items)-1].Key+"\x00", s.prefix)
		if counted {
			r.Remaining = &more
		}
	}
	return r
}

type continueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rv int64, key, prefix string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", RV: rv, Start: strings.TrimPrefix(key, prefix)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(token, prefix string) (int64, string, error) {
	bad := func(why string) (int64, string, error) {
		return 0, "", apierrors.NewBadRequest(fmt.Sprintf("continue key is not valid: %s", why))
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return bad("not base64")
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" {
		return bad("not a continue token")
	}
	if t.RV <= 0 || strings.Contains(t.Start, "..") {
		return bad("bad revision or key")
	}
	return t.RV, prefix + t.Start, nil
}
