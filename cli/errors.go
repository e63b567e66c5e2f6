package cli

import (
	"errors"
	"fmt"
	"net/url"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// UnknownResourceError says the server lists no resource type by a name.
type UnknownResourceError struct {
	// Name is the kind, resource or short name asked for.
	Name string
}

// Error reads as kubectl's.
func (e *UnknownResourceError) Error() string {
	return fmt.Sprintf("the server doesn't have a resource type %q", e.Name)
}

// ErrorMessage renders err as kubectl prints a command's error: an API error as
// "Error from server (NotFound): pods \"web\" not found", a 401 as "error: You
// must be logged in to the server (Unauthorized)", a refused connection as
// "The connection to the server HOST was refused - did you specify the right host
// or port?", anything else as "error: " and the message.
func ErrorMessage(err error) string {
	if apierrors.IsUnauthorized(err) {
		return "error: You must be logged in to the server (Unauthorized)"
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		msg := s.Message
		if msg == "" {
			msg = err.Error()
		}
		if s.Reason == "" {
			return "Error from server: " + msg
		}
		return fmt.Sprintf("Error from server (%s): %s", s.Reason, msg)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && errors.Is(err, syscall.ECONNREFUSED) {
		host := uerr.URL
		if u, perr := url.Parse(uerr.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
		return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", host)
	}
	return "error: " + err.Error()
}
