package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AdminGroup is the group a user must be in to use the server: berth's admin user
// (whose token the API server proxies pods/log with) is in it.
const AdminGroup = "system:masters"

// authenticate answers 401 to a request without a valid bearer token and 403 to a
// user not in AdminGroup.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, groups, err := s.opts.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if !slices.Contains(groups, AdminGroup) {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, path=%s)", user, strings.ToLower(r.Method), r.URL.Path), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TokenReviewer creates TokenReviews, as client-go's
// AuthenticationV1().TokenReviews() does.
type TokenReviewer interface {
	Create(ctx context.Context, tr *authenticationv1.TokenReview, opts metav1.CreateOptions) (*authenticationv1.TokenReview, error)
}

// TokenReviewTTL is how long TokenReviewAuthenticator remembers an answer.
const TokenReviewTTL = time.Minute

// TokenReviewAuthenticator returns an Authenticator that asks the API server through
// reviews, remembering each token's answer (accepted or rejected) for TokenReviewTTL.
// Failures to ask are not remembered.
func TokenReviewAuthenticator(reviews TokenReviewer) Authenticator {
	c := &reviewCache{reviews: reviews, entries: map[string]reviewEntry{}, now: time.Now}
	return c.authenticate
}

type reviewEntry struct {
	user    string
	groups  []string
	ok      bool
	expires time.Time
}

type reviewCache struct {
	reviews TokenReviewer
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]reviewEntry
}

func (c *reviewCache) authenticate(ctx context.Context, token string) (string, []string, error) {
	now := c.now()
	c.mu.Lock()
	e, found := c.entries[token]
	c.mu.Unlock()
	if !found || !now.Before(e.expires) {
		tr, err := c.reviews.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("review token: %w", err)
		}
		e = reviewEntry{user: tr.Status.User.Username, groups: tr.Status.User.Groups, ok: tr.Status.Authenticated, expires: now.Add(TokenReviewTTL)}
		c.mu.Lock()
		for k, old := range c.entries { // keep the cache small: drop expired answers
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		c.entries[token] = e
		c.mu.Unlock()
	}
	if !e.ok {
		return "", nil, fmt.Errorf("token not authenticated")
	}
	return e.user, e.groups, nil
}
