package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// WebhookPath is where push webhooks are received: WebhookPath + "<namespace>/<name>",
// or WebhookPath + "<name>" for a source in kube-system.
const WebhookPath = "/hooks/git/"

// maxWebhookBody bounds a push payload.
const maxWebhookBody = 5 << 20

// WebhookHandler returns the handler of push webhooks from GitHub
// (X-Hub-Signature-256), Gitea (X-Gitea-Signature) and GitLab (X-Gitlab-Token),
// verified against the token in the source's webhookSecretRef. A verified push
// syncs the source at once (202); anything else gets 401 and syncs nothing.
func (c *Controller) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a push event", http.StatusMethodNotAllowed)
			return
		}
		ns, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, WebhookPath), "/")
		if !ok {
			ns, name = metav1.NamespaceSystem, ns
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			http.Error(w, "read payload: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		token, err := c.webhookToken(r, ns, name)
		if err != nil || !verifyPush(r.Header, body, token) {
			// One answer for every failure, so that a caller learns nothing about which sources exist.
			http.Error(w, "webhook signature missing or invalid", http.StatusUnauthorized)
			return
		}
		c.Trigger(ns, name)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "sync of "+ns+"/"+name+" triggered\n")
	})
}

// webhookToken reads the token of a source's webhook secret.
func (c *Controller) webhookToken(r *http.Request, ns, name string) ([]byte, error) {
	// From the informer: a push need not read the whole source (status included).
	if c.sources == nil {
		return nil, errNoWebhookSecret
	}
	obj, ok, err := c.sources.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil, errNoWebhookSecret
	}
	u := obj.(*unstructured.Unstructured)
	var src berthv1.GitSource
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &src); err != nil {
		return nil, err
	}
	if src.Spec.WebhookSecretRef == nil {
		return nil, errNoWebhookSecret
	}
	sec, err := c.client.CoreV1().Secrets(ns).Get(r.Context(), src.Spec.WebhookSecretRef.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	tok := sec.Data["token"]
	if len(tok) == 0 {
		return nil, errNoWebhookSecret
	}
	return tok, nil
}

type webhookError string

func (e webhookError) Error() string { return string(e) }

const errNoWebhookSecret = webhookError("the source has no webhook secret")

// verifyPush checks a push payload's signature or token, whichever the forge sent.
func verifyPush(h http.Header, body, token []byte) bool {
	if len(token) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, token)
	mac.Write(body)
	sum := mac.Sum(nil)
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		got, err := hex.DecodeString(sig)
		return ok && err == nil && hmac.Equal(got, sum)
	case h.Get("X-Gitea-Signature") != "":
		got, err := hex.DecodeString(h.Get("X-Gitea-Signature"))
		return err == nil && hmac.Equal(got, sum)
	case h.Get("X-Gitlab-Token") != "":
		return subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), token) == 1
	}
	return false
}
