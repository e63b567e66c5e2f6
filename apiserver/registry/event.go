package registry

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits of event fields, as Kubernetes sets them.
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

// Events describes event (Event).
func Events() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "Event",
		Resource:     "events",
		Singular:     "event",
		ShortNames:   []string{"ev"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.Event{} },
		NewList:      func() runtime.Object { return &corev1.EventList{} },
		Validate:     validateEvent,
		Fields:       eventFields,
		Columns:      eventColumns,
		Row:          rowFunc(len(eventColumns)-1, eventRow),
	}
}

// validateEvent applies Kubernetes' checks of core/v1 events: the involved
// object's namespace matches the event's (an event about a cluster-scoped
// object lives in default), and an event with eventTime set (the events.k8s.io
// style) names its reporting controller and instance, action and reason
// within their length limits.
func validateEvent(obj runtime.Object) field.ErrorList {
	e, ok := as[corev1.Event](obj)
	if !ok {
		return wrongType(obj, "*v1.Event")
	}
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace")
	if e.EventTime.IsZero() {
		switch {
		case e.InvolvedObject.Namespace == "" && e.Namespace != "" && e.Namespace != metav1.NamespaceDefault:
			errs = append(errs, mismatch)
		case e.InvolvedObject.Namespace != "" && e.Namespace != e.InvolvedObject.Namespace:
			errs = append(errs, mismatch)
		}
		return errs
	}
	if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, mismatch)
	}
	rc := field.NewPath("reportingComponent")
	if e.ReportingController == "" {
		errs = append(errs, field.Required(rc, ""))
	} else {
		errs = append(errs, validateQualifiedName(e.ReportingController, rc)...)
	}
	for _, f := range []struct {
		name  string
		value string
		limit int
		need  bool
	}{
		{"reportingInstance", e.ReportingInstance, eventReportingInstanceLimit, true},
		{"action", e.Action, eventActionLimit, true},
		{"reason", e.Reason, eventReasonLimit, true},
		{"message", e.Message, eventNoteLimit, false},
	} {
		if f.need && f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.name), ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, field.Invalid(field.NewPath(f.name), "", fmt.Sprintf("can have at most %v characters", f.limit)))
		}
	}
	return errs
}

// eventFields are the fields `kubectl describe` and `kubectl events` select by.
func eventFields(obj runtime.Object) fields.Set {
	e, ok := as[corev1.Event](obj)
	if !ok {
		return nil
	}
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	io := e.InvolvedObject
	return fields.Set{
		"involvedObject.kind":            io.Kind,
		"involvedObject.namespace":       io.Namespace,
		"involvedObject.name":            io.Name,
		"involvedObject.uid":             string(io.UID),
		"involvedObject.apiVersion":      io.APIVersion,
		"involvedObject.resourceVersion": io.ResourceVersion,
		"involvedObject.fieldPath":       io.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

// eventColumns are the columns of `kubectl get events`. Kubernetes prints the
// name last and only in wide output; here it must come first, so it is a
// wide (priority 1) column and kubectl hides it by default.
var eventColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Last Seen", Type: "string", Description: corev1.Event{}.SwaggerDoc()["lastTimestamp"]},
	{Name: "Type", Type: "string", Description: corev1.Event{}.SwaggerDoc()["type"]},
	{Name: "Reason", Type: "string", Description: corev1.Event{}.SwaggerDoc()["reason"]},
	{Name: "Object", Type: "string", Description: corev1.Event{}.SwaggerDoc()["involvedObject"]},
	{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.Event{}.InvolvedObject.SwaggerDoc()["fieldPath"]},
	{Name: "Source", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["source"]},
	{Name: "Message", Type: "string", Description: corev1.Event{}.SwaggerDoc()["message"]},
	{Name: "First Seen", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["firstTimestamp"]},
	{Name: "Count", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["count"]},
}

// eventRow renders last seen, type, reason, object ("pod/web-1"),
// subobject, source, message, first seen and count.
func eventRow(e *corev1.Event, now time.Time) []interface{} {
	first := translateTimestampSince(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = translateMicroTimestampSince(e.EventTime, now)
	}
	last := translateTimestampSince(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = translateMicroTimestampSince(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []interface{}{
		last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
		eventSource(e), strings.TrimSpace(e.Message), first, int64(count),
	}
}

// eventSource renders "component, host", falling back to the reporting
// controller and instance.
func eventSource(e *corev1.Event) string {
	component := e.Source.Component
	if component == "" {
		component = e.ReportingController
	}
	host := e.Source.Host
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
