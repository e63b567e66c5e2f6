package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestErrorMessage(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "web")
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"not found", notFound, `Error from server (NotFound): pods "web" not found`},
		{"wrapped", fmt.Errorf("get pod: %w", notFound), `Error from server (NotFound): pods "web" not found`},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New(`User "berth-readonly" cannot list resource "secrets"`)),
			`Error from server (Forbidden): secrets is forbidden: User "berth-readonly" cannot list resource "secrets"`},
		{"no reason", &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Message: "boom"}}, "Error from server: boom"},
		{"unauthorized", apierrors.NewUnauthorized("Unauthorized"), "error: You must be logged in to the server (Unauthorized)"},
		{"unknown kind", &UnknownResourceError{Name: "foo"}, `error: the server doesn't have a resource type "foo"`},
		{"refused", refused, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"},
		{"other", errors.New("no kubeconfig"), "error: no kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorMessage(tc.err); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
