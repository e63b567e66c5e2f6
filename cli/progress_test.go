package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a buffer the spinner goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgressOffATerminal(t *testing.T) {
	var b lockedBuffer
	stop := StartProgress(&b, false, "waiting")
	stop()
	stop()
	if b.String() != "" {
		t.Errorf("printed %q off a terminal", b.String())
	}
}

func TestProgressErasesItself(t *testing.T) {
	var b lockedBuffer
	stop := StartProgress(&b, true, "waiting")
	stop()
	// Whether or not the spinner got to show, nothing of it is left once stopped.
	if out := b.String(); out != "" && !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("left %q behind", out)
	}
}
