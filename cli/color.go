package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Colour is an ANSI SGR colour code ("32" green); "" is plain.
type Colour string

// The colours the status screen uses.
const (
	Plain  Colour = ""
	Green  Colour = "32"
	Yellow Colour = "33"
	Red    Colour = "31"
	Bold   Colour = "1"
	Dim    Colour = "2"
)

// paint wraps s in c's escape codes when on.
func paint(s string, c Colour, on bool) string {
	if !on || c == Plain || s == "" {
		return s
	}
	return "\x1b[" + string(c) + "m" + s + "\x1b[0m"
}

// stateColour is the colour of a phase, health or readiness word.
func stateColour(s string) Colour {
	switch s {
	case "Synced", Healthy, "Ready", "True", "Complete", "Normal":
		return Green
	case Progressing, "OutOfSync", "Suspended", "SchedulingDisabled", "Unknown":
		return Yellow
	case "Failed", Degraded, "NotReady", "False", "Warning":
		return Red
	}
	return Plain
}

// cell is one cell of a grid: its text and colour.
type cell struct {
	text   string
	colour Colour
}

// grid is a table whose cells may be coloured: columns are aligned on the
// cells' visible text, so escape codes never shift them.
type grid struct {
	rows [][]cell
}

// add appends a row.
func (g *grid) add(cells ...cell) { g.rows = append(g.rows, cells) }

// write prints the rows with three spaces between columns, indented by indent.
func (g *grid) write(w io.Writer, indent string, colour bool) {
	var widths []int
	for _, r := range g.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	var b strings.Builder
	for _, r := range g.rows {
		b.Reset()
		b.WriteString(indent)
		for i, c := range r {
			b.WriteString(paint(c.text, c.colour, colour))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+3))
			}
		}
		line := strings.TrimRight(b.String(), " ")
		b.Reset()
		_, _ = io.WriteString(w, line+"\n")
	}
}

// plainCells makes uncoloured cells.
func plainCells(texts ...string) []cell {
	out := make([]cell, len(texts))
	for i, t := range texts {
		out[i] = cell{text: t}
	}
	return out
}
