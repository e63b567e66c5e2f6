package runtime

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// stateLabelPrefix starts the labels in which the runtime keeps what it must
// remember of a container across kubelet restarts. Users' labels may not use it.
const stateLabelPrefix = "berth.dev/runtime."

// The runtime's own labels.
const (
	labelImageID    = stateLabelPrefix + "image-id"
	labelLogPath    = stateLabelPrefix + "log-path"
	labelLogMaxSize = stateLabelPrefix + "log-max-size"
	labelStartedAt  = stateLabelPrefix + "started-at"
	labelFinishedAt = stateLabelPrefix + "finished-at"
	labelExitCode   = stateLabelPrefix + "exit-code"
	labelOOMKilled  = stateLabelPrefix + "oom-killed"
	labelReason     = stateLabelPrefix + "reason"
	labelMessage    = stateLabelPrefix + "message"
)

// maxLabelValue is how much of a message a label keeps; containerd allows
// 4096 bytes for a label's key and value together.
const maxLabelValue = 3072

// exitRecord is what is kept of a container's end.
type exitRecord struct {
	finishedAt time.Time
	exitCode   int
	oomKilled  bool
	reason     string // empty: derived from the exit code
	message    string
}

// labels encodes r as container labels.
func (r exitRecord) labels() map[string]string {
	l := map[string]string{
		labelFinishedAt: formatTime(r.finishedAt),
		labelExitCode:   strconv.Itoa(r.exitCode),
	}
	if r.oomKilled {
		l[labelOOMKilled] = "true"
	}
	if r.reason != "" {
		l[labelReason] = r.reason
	}
	if r.message != "" {
		msg := r.message
		if len(msg) > maxLabelValue {
			msg = msg[:maxLabelValue]
		}
		l[labelMessage] = msg
	}
	return l
}

// parseExitRecord decodes the exit kept in labels; ok is false when none is.
func parseExitRecord(labels map[string]string) (r exitRecord, ok bool, err error) {
	code, found := labels[labelExitCode]
	if !found {
		return exitRecord{}, false, nil
	}
	r.exitCode, err = strconv.Atoi(code)
	if err != nil {
		return exitRecord{}, false, fmt.Errorf("label %s: %w", labelExitCode, err)
	}
	r.finishedAt, err = parseTime(labels[labelFinishedAt])
	if err != nil {
		return exitRecord{}, false, fmt.Errorf("label %s: %w", labelFinishedAt, err)
	}
	r.oomKilled = labels[labelOOMKilled] == "true"
	r.reason = labels[labelReason]
	r.message = labels[labelMessage]
	return r, true, nil
}

// reason is the reason Kubernetes gives for an exit.
func (r exitRecord) reasonText() string {
	switch {
	case r.reason != "":
		return r.reason
	case r.oomKilled:
		return ReasonOOMKilled
	case r.exitCode == 0:
		return ReasonCompleted
	default:
		return ReasonError
	}
}

// userLabels returns labels without the runtime's own.
func userLabels(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	maps.DeleteFunc(out, func(k, _ string) bool {
		return strings.HasPrefix(k, stateLabelPrefix) || strings.HasPrefix(k, "io.containerd.")
	})
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// formatTime encodes t for a label; the zero time is "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime decodes formatTime's encoding.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
