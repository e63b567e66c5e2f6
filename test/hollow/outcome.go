package hollow

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Annotations that steer a pod's outcome on a hollow node when Options.Outcome is
// nil; tests put them in pod templates, or patch them onto a running pod.
const (
	// AnnotationPhase is Running (default), Succeeded or Failed.
	AnnotationPhase = "hollow.berth.dev/phase"
	// AnnotationExitCode is the containers' exit code when the pod finishes.
	AnnotationExitCode = "hollow.berth.dev/exit-code"
	// AnnotationReady "false" keeps a Running pod not ready.
	AnnotationReady = "hollow.berth.dev/ready"
	// AnnotationAfter delays the outcome by a Go duration ("2s").
	AnnotationAfter = "hollow.berth.dev/after"
)

// AnnotationOutcome reads a pod's outcome from its hollow.berth.dev annotations.
func AnnotationOutcome(pod *corev1.Pod) Outcome {
	a := pod.Annotations
	out := Outcome{Phase: corev1.PodPhase(a[AnnotationPhase]), NotReady: a[AnnotationReady] == "false"}
	if code, err := strconv.ParseInt(a[AnnotationExitCode], 10, 32); err == nil {
		out.ExitCode = int32(code)
	}
	if d, err := time.ParseDuration(a[AnnotationAfter]); err == nil {
		out.After = d
	}
	return out
}
