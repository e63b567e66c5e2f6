package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
)

func TestVerifyPush(t *testing.T) {
	body, token := []byte(`{"ref":"refs/heads/main"}`), []byte("s3cret")
	mac := hmac.New(sha256.New, token)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	for _, tc := range []struct {
		name   string
		header http.Header
		token  []byte
		want   bool
	}{
		{"github", http.Header{"X-Hub-Signature-256": {"sha256=" + sig}}, token, true},
		{"github, wrong signature", http.Header{"X-Hub-Signature-256": {"sha256=" + sig[:60] + "0000"}}, token, false},
		{"github, no prefix", http.Header{"X-Hub-Signature-256": {sig}}, token, false},
		{"gitea", http.Header{"X-Gitea-Signature": {sig}}, token, true},
		{"gitlab", http.Header{"X-Gitlab-Token": {"s3cret"}}, token, true},
		{"gitlab, wrong token", http.Header{"X-Gitlab-Token": {"guess"}}, token, false},
		{"no signature", http.Header{}, token, false},
		{"no secret configured", http.Header{"X-Gitlab-Token": {""}}, nil, false},
	} {
		if got := verifyPush(tc.header, body, tc.token); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
