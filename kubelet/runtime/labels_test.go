package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExitRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 5, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name       string
		rec        exitRecord
		wantReason string
	}{
		{"completed", exitRecord{finishedAt: at, exitCode: 0}, ReasonCompleted},
		{"error", exitRecord{finishedAt: at, exitCode: 2}, ReasonError},
		{"killed", exitRecord{finishedAt: at, exitCode: 137}, ReasonError},
		{"oom", exitRecord{finishedAt: at, exitCode: 137, oomKilled: true}, ReasonOOMKilled},
		{"start error", exitRecord{finishedAt: at, exitCode: 128, reason: ReasonStartError, message: "exec: no such file"}, ReasonStartError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := tt.rec.labels()
			labels["berth.dev/pod-uid"] = "u"
			got, ok, err := parseExitRecord(labels)
			if err != nil || !ok {
				t.Fatalf("parseExitRecord = %v, %v", ok, err)
			}
			if diff := cmp.Diff(tt.rec, got, cmp.AllowUnexported(exitRecord{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if r := got.reasonText(); r != tt.wantReason {
				t.Errorf("reason %q, want %q", r, tt.wantReason)
			}
		})
	}
}

func TestParseExitRecordAbsentOrBroken(t *testing.T) {
	if _, ok, err := parseExitRecord(map[string]string{"x": "y"}); ok || err != nil {
		t.Errorf("no exit labels: ok %t, err %v", ok, err)
	}
	if _, _, err := parseExitRecord(map[string]string{labelExitCode: "x"}); err == nil {
		t.Errorf("bad exit code: no error")
	}
	if _, _, err := parseExitRecord(map[string]string{labelExitCode: "1", labelFinishedAt: "noon"}); err == nil {
		t.Errorf("bad finish time: no error")
	}
}

func TestExitRecordMessageCapped(t *testing.T) {
	l := exitRecord{exitCode: 128, message: strings.Repeat("m", 10000)}.labels()
	if len(l[labelMessage]) != maxLabelValue {
		t.Errorf("message label is %d bytes, want %d", len(l[labelMessage]), maxLabelValue)
	}
}

func TestUserLabels(t *testing.T) {
	got := userLabels(map[string]string{
		"berth.dev/pod-uid":                      "u",
		labelExitCode:                            "0",
		"io.containerd.image.config.stop-signal": "SIGTERM",
	})
	if diff := cmp.Diff(map[string]string{"berth.dev/pod-uid": "u"}, got); diff != "" {
		t.Errorf("userLabels (-want +got):\n%s", diff)
	}
	if got := userLabels(nil); got == nil || len(got) != 0 {
		t.Errorf("userLabels(nil) = %v, want an empty map", got)
	}
}

func TestLabelFilter(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, ""},
		{map[string]string{LabelPodUID: "abc-1"}, `labels."berth.dev/pod-uid"=="abc-1"`},
		{map[string]string{LabelPodUID: "u", LabelContainerName: `we"ird`}, `labels."berth.dev/container-name"=="we\"ird",labels."berth.dev/pod-uid"=="u"`},
	}
	for _, tt := range tests {
		if got := labelFilter(tt.labels); got != tt.want {
			t.Errorf("labelFilter(%v) = %s, want %s", tt.labels, got, tt.want)
		}
	}
}
