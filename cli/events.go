package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// EventTime is when an event last happened: its lastTimestamp, else its series'
// last observation, else its eventTime, else when it was stored.
func EventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// eventFirstTime is when an event first happened.
func eventFirstTime(e *corev1.Event) time.Time {
	switch {
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return EventTime(e)
}

// eventCount is how many times an event happened.
func eventCount(e *corev1.Event) int32 {
	if e.Series != nil && e.Series.Count > e.Count {
		return e.Series.Count
	}
	return e.Count
}

// SortEvents orders events oldest first, by EventTime; events of the same second
// (timestamps have no finer grain) in the order they were last written, by
// resourceVersion, then by name.
func SortEvents(events []corev1.Event) {
	sort.SliceStable(events, func(i, j int) bool {
		a, b := &events[i], &events[j]
		if ti, tj := EventTime(a), EventTime(b); !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if ra, rb := a.ResourceVersion, b.ResourceVersion; ra != rb {
			// Resource versions are decimal numbers; the shorter one is smaller.
			if len(ra) != len(rb) {
				return len(ra) < len(rb)
			}
			return ra < rb
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}

// eventSeen renders when an event was last seen: "5m", or "5m (x3 over 10m)" for an
// event that repeated.
func eventSeen(e *corev1.Event, now time.Time) string {
	last := Age(EventTime(e), now)
	if n := eventCount(e); n > 1 {
		return fmt.Sprintf("%s (x%d over %s)", last, n, Age(eventFirstTime(e), now))
	}
	return last
}

// EventObject names an event's object as kubectl events does: "pod/web".
func EventObject(e *corev1.Event) string {
	return strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
}

// EventsTable is `kubectl events`: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, with
// NAMESPACE first when withNamespace. Events are printed in the order given.
func EventsTable(events []corev1.Event, now time.Time, withNamespace bool) *Table {
	t := &Table{Columns: []string{"Last Seen", "Type", "Reason", "Object", "Message"}}
	if withNamespace {
		t.Columns = append([]string{"Namespace"}, t.Columns...)
	}
	for i := range events {
		e := &events[i]
		row := []string{eventSeen(e, now), e.Type, e.Reason, EventObject(e), strings.TrimSpace(e.Message)}
		if withNamespace {
			row = append([]string{e.Namespace}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
