package auth

import (
	"net/http"
	"strings"
)

// BearerToken returns the token of the request's "Authorization: Bearer <token>" header.
// The scheme is matched without regard to case and spaces around either part are
// ignored; any other form of the header yields false.
func BearerToken(r *http.Request) (string, bool) {
	fields := strings.Fields(r.Header.Get("Authorization"))
	if len(fields) != 2 || !strings.EqualFold(fields[0], "Bearer") {
		return "", false
	}
	return fields[1], true
}

// AuthenticateRequest authenticates the bearer token of r; see BearerToken and
// Authenticate. A request without one is not authenticated.
func (t *Tokens) AuthenticateRequest(r *http.Request) (User, bool) {
	token, ok := BearerToken(r)
	if !ok {
		return User{}, false
	}
	return t.Authenticate(token)
}
