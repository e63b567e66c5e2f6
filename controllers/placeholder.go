package controllers

import "context"

// pending is a controller not built yet: it does nothing. Each constructor below is
// replaced by the real controller in its own file.
type pending struct{}

func (pending) run(ctx context.Context, _ int) { <-ctx.Done() }
