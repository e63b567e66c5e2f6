package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressDelay is how long work may take before StartProgress shows anything:
// quick answers print no spinner at all.
const progressDelay = 500 * time.Millisecond

// spinnerFrames turn while long work goes on.
var spinnerFrames = []string{"|", "/", "-", "\\"}

// StartProgress shows "msg" with a turning spinner on w once the work has taken
// longer than half a second, when on is true (w is a terminal); stop erases it
// and returns once it is gone. Off a terminal it shows nothing.
func StartProgress(w io.Writer, on bool, msg string) (stop func()) {
	if !on {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(progressDelay)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%s %s", spinnerFrames[i%len(spinnerFrames)], msg)
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
