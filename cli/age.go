package cli

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Age renders how long before now t was, as kubectl does ("45s", "5m10s", "3d"), or
// "<unknown>" for a zero time. A t after now (clock skew) is "0s".
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}
