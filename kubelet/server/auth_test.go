package server

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// countingReviewer accepts the token "good" and counts the reviews asked.
type countingReviewer struct {
	calls int
	fail  bool
}

func (c *countingReviewer) Create(_ context.Context, tr *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	c.calls++
	if c.fail {
		return nil, errors.New("connection refused")
	}
	if tr.Spec.Token == "good" {
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "berth-admin", Groups: []string{AdminGroup}}}
	}
	return tr, nil
}

func TestTokenReviewAuthenticator(t *testing.T) {
	rev := &countingReviewer{}
	now := time.Now()
	c := &reviewCache{reviews: rev, entries: map[string]reviewEntry{}, now: func() time.Time { return now }}
	ctx := context.Background()

	user, groups, err := c.authenticate(ctx, "good")
	if err != nil || user != "berth-admin" || !slices.Contains(groups, AdminGroup) {
		t.Fatalf("good token: %q %v %v", user, groups, err)
	}
	if _, _, err := c.authenticate(ctx, "bad"); err == nil {
		t.Fatal("bad token accepted")
	}
	_, _, _ = c.authenticate(ctx, "good")
	_, _, _ = c.authenticate(ctx, "bad")
	if rev.calls != 2 {
		t.Errorf("%d reviews, want 2 (answers cached)", rev.calls)
	}
	now = now.Add(TokenReviewTTL)
	_, _, _ = c.authenticate(ctx, "good")
	if rev.calls != 3 {
		t.Errorf("%d reviews, want 3 (expired answer asked again)", rev.calls)
	}
	rev.fail = true
	now = now.Add(TokenReviewTTL)
	if _, _, err := c.authenticate(ctx, "good"); err == nil {
		t.Error("failed review accepted")
	}
	rev.fail = false
	if _, _, err := c.authenticate(ctx, "good"); err != nil {
		t.Errorf("failure was cached: %v", err)
	}
}
