package cli

import (
	"fmt"
	"strings"
)

// planLinesMax is how many lines of a multi-line value a plan shows.
const planLinesMax = 200

// planContext is how many unchanged lines a line diff keeps around a change.
const planContext = 2

// planMultiline says whether a change is best shown line by line: a string
// value with several lines (a script or a config file in a ConfigMap).
func planMultiline(c PlanFieldChange) bool {
	multi := func(v any) bool {
		s, ok := v.(string)
		return ok && strings.Contains(strings.TrimSuffix(s, "\n"), "\n")
	}
	switch c.Op {
	case FieldAdd:
		return multi(c.New)
	case FieldRemove:
		return multi(c.Old)
	}
	_, oldStr := c.Old.(string)
	_, newStr := c.New.(string)
	return oldStr && newStr && (multi(c.Old) || multi(c.New))
}

// planLineChange renders a multi-line change: a heading line ("~ path: 3 lines
// → 4 lines") and the lines, each starting with "-", "+" or " ".
func planLineChange(c PlanFieldChange) (heading string, lines []string) {
	old, _ := c.Old.(string)
	new, _ := c.New.(string)
	switch c.Op {
	case FieldAdd:
		return fmt.Sprintf("+ %s: %s", c.Path, planLineCount(new)), planPrefixed("+", new)
	case FieldRemove:
		return fmt.Sprintf("- %s: %s", c.Path, planLineCount(old)), planPrefixed("-", old)
	}
	return fmt.Sprintf("~ %s: %s → %s", c.Path, planLineCount(old), planLineCount(new)), planLineDiff(old, new)
}

// planLineCount is "1 line" or "N lines".
func planLineCount(s string) string {
	n := len(planSplitLines(s))
	return fmt.Sprintf("%d %s", n, planPlural(n, "line", "lines"))
}

// planSplitLines splits s into lines, without a last empty one.
func planSplitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// planPrefixed is every line of s after prefix, cut at planLinesMax.
func planPrefixed(prefix, s string) []string {
	var out []string
	for i, l := range planSplitLines(s) {
		if i == planLinesMax {
			out = append(out, " …")
			break
		}
		out = append(out, prefix+l)
	}
	return out
}

// planLineDiff is the line diff of a and b (longest common subsequence): "-"
// lines only in a, "+" lines only in b, " " lines in both, of which only
// planContext lines around a change are kept ("…" for the others).
func planLineDiff(a, b string) []string {
	al, bl := planSplitLines(a), planSplitLines(b)
	if len(al)*len(bl) > 1_000_000 { // too long to align: all out, all in
		return append(planPrefixed("-", a), planPrefixed("+", b)...)
	}
	// lcs[i][j] is the length of the longest common subsequence of al[i:] and bl[j:].
	lcs := make([][]int, len(al)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(bl)+1)
	}
	for i := len(al) - 1; i >= 0; i-- {
		for j := len(bl) - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var all []string
	i, j := 0, 0
	for i < len(al) || j < len(bl) {
		switch {
		case i < len(al) && j < len(bl) && al[i] == bl[j]:
			all = append(all, " "+al[i])
			i, j = i+1, j+1
		case i < len(al) && (j == len(bl) || lcs[i+1][j] >= lcs[i][j+1]):
			all = append(all, "-"+al[i]) // deletions before insertions
			i++
		default:
			all = append(all, "+"+bl[j])
			j++
		}
	}
	// Keep planContext unchanged lines on each side of a change.
	keep := make([]bool, len(all))
	for k, l := range all {
		if l[0] != ' ' {
			for d := max(0, k-planContext); d <= min(len(all)-1, k+planContext); d++ {
				keep[d] = true
			}
		}
	}
	var out []string
	skipped := false
	for k, l := range all {
		if !keep[k] {
			if !skipped {
				out = append(out, " …")
			}
			skipped = true
			continue
		}
		skipped = false
		if len(out) == planLinesMax {
			return append(out, " …")
		}
		out = append(out, l)
	}
	return out
}
