package logs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAppendEntry(t *testing.T) {
	ts := time.Date(2026, 11, 23, 5, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"full", Entry{Time: ts, Stream: Stdout, Msg: []byte("hello world")}, "2026-11-23T05:00:00.123456789Z stdout F hello world\n"},
		{"partial", Entry{Time: ts, Stream: Stderr, Partial: true, Msg: []byte("abc")}, "2026-11-23T05:00:00.123456789Z stderr P abc\n"},
		{"empty", Entry{Time: ts, Stream: Stdout}, "2026-11-23T05:00:00.123456789Z stdout F \n"},
		{"whole second keeps its nanoseconds", Entry{Time: ts.Truncate(time.Second), Stream: Stdout, Msg: []byte("x")}, "2026-11-23T05:00:00.000000000Z stdout F x\n"},
		{"local time written in UTC", Entry{Time: ts.In(time.FixedZone("X", 3600)), Stream: Stdout, Msg: []byte("x")}, "2026-11-23T05:00:00.123456789Z stdout F x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendEntry(nil, tt.e)); got != tt.want {
				t.Errorf("AppendEntry = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseEntry(t *testing.T) {
	ts := time.Date(2026, 11, 23, 5, 0, 0, 123456789, time.UTC)
	tests := []struct {
		line    string
		want    Entry
		wantErr bool
	}{
		{line: "2026-11-23T05:00:00.123456789Z stdout F hello world\n", want: Entry{Time: ts, Stream: Stdout, Msg: []byte("hello world")}},
		{line: "2026-11-23T05:00:00.123456789Z stderr P part", want: Entry{Time: ts, Stream: Stderr, Partial: true, Msg: []byte("part")}},
		{line: "2026-11-23T05:00:00.123456789Z stdout F ", want: Entry{Time: ts, Stream: Stdout, Msg: []byte{}}},
		{line: "2026-11-23T05:00:00.123456789Z stdout F", want: Entry{Time: ts, Stream: Stdout}},
		{line: "2026-11-23T05:00:00.123456789Z stdout F  two spaces", want: Entry{Time: ts, Stream: Stdout, Msg: []byte(" two spaces")}},
		{line: "2026-11-23T05:00:00.123456789Z stdout P:x more", want: Entry{Time: ts, Stream: Stdout, Partial: true, Msg: []byte("more")}},
		{line: "2026-11-23T06:00:00.123456789+01:00 stdout F offset", want: Entry{Time: ts, Stream: Stdout, Msg: []byte("offset")}},
		{line: "not a log line", wantErr: true},
		{line: "yesterday stdout F x", wantErr: true},
		{line: "2026-11-23T05:00:00Z stdin F x", wantErr: true},
		{line: "2026-11-23T05:00:00Z stdout X x", wantErr: true},
		{line: "2026-11-23T05:00:00Z stdout", wantErr: true},
		{line: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseEntry([]byte(tt.line))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseEntry(%q) = %+v, want an error", tt.line, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEntry(%q): %v", tt.line, err)
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time = %v, want %v", got.Time, tt.want.Time)
			}
			got.Time = tt.want.Time
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseEntry(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestParseEntryRoundTrip(t *testing.T) {
	e := Entry{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Stream: Stderr, Partial: true, Msg: []byte("a b  c")}
	got, err := ParseEntry(AppendEntry(nil, e))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
