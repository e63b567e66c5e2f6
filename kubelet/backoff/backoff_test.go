package backoff

import (
	"testing"
	"time"
)

func TestNextDoublesToMax(t *testing.T) {
	b := New(Options{})
	now := time.Unix(1000, 0)
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := b.Next("c", now); got != w {
			t.Fatalf("Next #%d = %v, want %v", i, got, w)
		}
	}
}

func TestInBackoffAndReset(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name    string
		ranFor  time.Duration
		at      time.Duration // after start
		wantIn  bool
		wantRem time.Duration
	}{
		{"just restarted", 0, 0, true, 3 * time.Second},
		{"half way", 0, 2 * time.Second, true, time.Second},
		{"wait over", 0, 3 * time.Second, false, 0},
		{"short run keeps backoff", 5 * time.Second, time.Second, true, 2 * time.Second},
		{"long run resets", time.Minute, time.Second, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Options{Initial: time.Second, Max: 8 * time.Second, ResetAfter: time.Minute})
			b.Next("c", start.Add(-10*time.Second))
			b.Next("c", start.Add(-5*time.Second))
			b.Next("c", start.Add(-time.Second)) // 4s wait: until start+3s
			b.RanFor("c", tt.ranFor)
			now := start.Add(tt.at)
			if got := b.InBackoff("c", now); got != tt.wantIn {
				t.Errorf("InBackoff = %v, want %v", got, tt.wantIn)
			}
			if got := b.Remaining("c", now); got != tt.wantRem {
				t.Errorf("Remaining = %v, want %v", got, tt.wantRem)
			}
		})
	}
}

func TestResetStartsOver(t *testing.T) {
	b := New(Options{Initial: time.Second})
	now := time.Unix(0, 0)
	b.Next("a", now)
	b.Next("a", now)
	b.Next("b", now)
	b.Reset("a")
	if got := b.Next("a", now); got != time.Second {
		t.Errorf("after Reset Next = %v, want 1s", got)
	}
	if got := b.Next("b", now); got != 2*time.Second {
		t.Errorf("other key Next = %v, want 2s", got)
	}
	if b.InBackoff("unknown", now) {
		t.Error("unknown key in backoff")
	}
}
