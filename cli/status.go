package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// StatusOptions say how to render the status screen.
type StatusOptions struct {
	// Now is the clock ages are relative to.
	Now time.Time
	// Colour paints phases, health and readiness (for a terminal).
	Colour bool
}

// WriteStatus renders a snapshot as the `berth status` screen: git sources, nodes,
// workloads per namespace, recent warnings. The output depends only on its
// arguments.
func WriteStatus(w io.Writer, s Snapshot, o StatusOptions) error {
	bw := bufio.NewWriter(w)
	title := func(t string) { fmt.Fprintln(bw, paint(t, Bold, o.Colour)) }

	title("GIT SOURCES")
	if len(s.Sources) == 0 {
		fmt.Fprintln(bw, "  none: the cluster follows no git repository")
	}
	for i, src := range s.Sources {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		writeSource(bw, src, o)
	}

	fmt.Fprintln(bw)
	title("NODES")
	if len(s.Nodes) == 0 {
		fmt.Fprintln(bw, "  none registered")
	} else {
		g := &grid{}
		g.add(plainCells("NAME", "STATUS", "PODS", "CPU REQUESTED", "MEMORY REQUESTED")...)
		for _, n := range s.Nodes {
			status := "Ready"
			if !n.Ready {
				status = "NotReady"
			}
			if n.Unschedulable {
				status += ",SchedulingDisabled"
			}
			c := stateColour(status)
			if n.Ready && n.Unschedulable {
				c = Yellow
			}
			g.add(cell{text: n.Name}, cell{text: status, colour: c},
				cell{text: fmt.Sprintf("%d/%d", n.Pods, n.PodCapacity)},
				cell{text: share(n.CPURequested, n.CPUAllocatable)},
				cell{text: share(n.MemRequested, n.MemAllocatable)})
		}
		g.write(bw, "  ", o.Colour)
	}

	fmt.Fprintln(bw)
	title("WORKLOADS")
	if len(s.Workloads) == 0 {
		fmt.Fprintln(bw, "  none")
	} else {
		g := &grid{}
		g.add(plainCells("NAMESPACE", "KIND", "NAME", "READY", "UP-TO-DATE", "HEALTH", "")...)
		for _, wl := range s.Workloads {
			g.add(cell{text: wl.Namespace}, cell{text: wl.Kind}, cell{text: wl.Name},
				cell{text: fmt.Sprintf("%d/%d", wl.Ready, wl.Desired)}, cell{text: fmt.Sprint(wl.UpToDate)},
				cell{text: wl.Health, colour: stateColour(wl.Health)}, cell{text: wl.Message, colour: Dim})
		}
		g.write(bw, "  ", o.Colour)
	}

	fmt.Fprintln(bw)
	title(fmt.Sprintf("RECENT WARNINGS (last %s)", shortDuration(WarningWindow)))
	if len(s.Warnings) == 0 {
		fmt.Fprintln(bw, "  none")
	} else {
		g := &grid{}
		g.add(plainCells("LAST SEEN", "NAMESPACE", "OBJECT", "REASON", "MESSAGE")...)
		for _, e := range s.Warnings {
			seen := Age(e.Last, o.Now)
			if e.Count > 1 {
				seen += fmt.Sprintf(" (x%d)", e.Count)
			}
			g.add(cell{text: seen}, cell{text: e.Namespace}, cell{text: e.Object},
				cell{text: e.Reason, colour: Red}, cell{text: oneLine(e.Message)})
		}
		g.write(bw, "  ", o.Colour)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

// writeSource writes one GitSource's block.
func writeSource(w io.Writer, s SourceStatus, o StatusOptions) {
	phase := orNone(s.Phase)
	if s.Suspended {
		phase += " (suspended)"
	}
	fmt.Fprintf(w, "  %s   %s   %s\n", paint(s.Namespace+"/"+s.Name, Bold, o.Colour),
		paint(phase, stateColour(s.Phase), o.Colour), paint(orNone(s.Health), stateColour(s.Health), o.Colour))
	g := &grid{}
	repo := s.URL + " (" + s.Ref
	if s.Path != "" && s.Path != "." {
		repo += ", path " + s.Path
	}
	g.add(plainCells("repo", repo+")")...)
	rev := "<none>"
	if s.Revision != "" {
		rev = shortRev(s.Revision)
		if s.Subject != "" {
			rev += " " + fmt.Sprintf("%q", s.Subject)
		}
		if s.AppliedRevision != "" && s.AppliedRevision != s.Revision {
			rev += fmt.Sprintf(" (applied: %s)", shortRev(s.AppliedRevision))
		}
	}
	g.add(plainCells("revision", rev)...)
	if s.Message != "" {
		g.add(plainCells("message", oneLine(s.Message))...)
	}
	sync := "never"
	if s.LastSync != nil {
		sync = fmt.Sprintf("%s ago (%s)", Age(*s.LastSync, o.Now), s.LastSync.UTC().Format(time.RFC3339))
	}
	g.add(plainCells("last sync", sync)...)
	switch n := len(s.Drift); n {
	case 0:
		g.add(cell{text: "drift"}, cell{text: "none"})
	case 1:
		g.add(cell{text: "drift"}, cell{text: "1 object changed outside git:", colour: Yellow})
	default:
		g.add(cell{text: "drift"}, cell{text: fmt.Sprintf("%d objects changed outside git:", n), colour: Yellow})
	}
	g.write(w, "    ", o.Colour)
	for i, d := range s.Drift {
		if i == maxDrift {
			fmt.Fprintf(w, "      ... and %d more\n", len(s.Drift)-maxDrift)
			break
		}
		fmt.Fprintf(w, "      %s\n", d)
	}
	if s.LastError != "" {
		fmt.Fprintf(w, "    %s\n", paint("last error:", Red, o.Colour))
		for _, l := range strings.Split(strings.TrimRight(s.LastError, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
	// Errors repeats the last error's parts unless they add to it.
	var extra []string
	for _, e := range s.Errors {
		if !strings.Contains(s.LastError, e) {
			extra = append(extra, e)
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(w, "    %s\n", paint("errors:", Red, o.Colour))
		for _, e := range extra {
			fmt.Fprintf(w, "      %s\n", oneLine(e))
		}
	}
}

// share renders "requested/allocatable (percent)".
func share(req, alloc resource.Quantity) string {
	pct := ""
	if a := alloc.MilliValue(); a > 0 {
		pct = fmt.Sprintf(" (%d%%)", req.MilliValue()*100/a)
	}
	return shortQuantity(req) + "/" + shortQuantity(alloc) + pct
}

// shortQuantity renders a quantity of bytes in the largest binary unit it
// fills (Mi, Gi), to one decimal, as a person reads it: a node's
// 24684084Ki of memory is 23.5Gi. Other quantities keep their own form.
func shortQuantity(q resource.Quantity) string {
	v := q.Value()
	if q.Format != resource.BinarySI || v < 1<<20 {
		return q.String()
	}
	unit, size := "Mi", float64(1<<20)
	if v >= 1<<30 {
		unit, size = "Gi", float64(1<<30)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(v)/size), ".0") + unit
}

// shortRev is a commit hash's first 12 digits.
func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shortDuration renders a whole duration without zero units: "1h", "30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}
