package runtime

import (
	"strings"
	"sync"
	"testing"
)

func TestCappedBuffer(t *testing.T) {
	b := &cappedBuffer{max: 10}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			n, err := b.Write([]byte("abcdef"))
			if n != 6 || err != nil {
				t.Errorf("Write = %d, %v; want 6, nil even past the cap", n, err)
			}
		})
	}
	wg.Wait()
	if got := b.Bytes(); len(got) != 10 || strings.Trim(string(got), "abcdef") != "" {
		t.Errorf("kept %q, want 10 bytes of what was written", got)
	}
}
