package sync

import "strings"

// Errors is several errors of one revision, reported together.
type Errors []error

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

// joinErrors returns errs as one error.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return Errors(errs)
}
