package cli

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// writePlanMarkdown prints the plan for a pull-request comment: the verdict,
// a table of creates, updates, deletes and errors per kind, the errors and the
// pods that would not fit, then one collapsed section per object with its diff.
func writePlanMarkdown(w io.Writer, r *PlanReport) {
	fmt.Fprintf(w, "### berth plan\n\n")
	fmt.Fprintf(w, "%s\n\n", planHeading(r, planCode))
	fmt.Fprintf(w, "**%s**\n\n", planMDText(planUpper(planSummary(r))))
	writePlanTableMD(w, r)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "#### Errors\n\nHead cannot be synced: berth applies a revision whole or not at all.\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "- %s\n", planProblemMD(e))
		}
		fmt.Fprintln(w)
	}
	if len(r.Unschedulable) > 0 {
		fmt.Fprintf(w, "#### Pods that would not fit\n\n")
		for _, f := range r.Unschedulable {
			where := ""
			if f.File != "" {
				where = fmt.Sprintf(" (%s)", planCode(fmt.Sprintf("%s:%d", f.File, f.Line)))
			}
			fmt.Fprintf(w, "- **%s**%s: %s\n", planMDText(f.Object), where, planMDText(f.Message))
		}
		fmt.Fprintln(w)
	}
	if len(r.Drift) > 0 {
		fmt.Fprintf(w, "#### Drift\n\nLive objects changed outside git (`-` as applied, `+` live); a sync restores them.\n\n")
		writePlanObjectsMD(w, r.Drift)
	}
	if r.Cluster && len(r.Sync) > 0 {
		fmt.Fprintf(w, "#### Sync against the live cluster\n\n")
		writePlanObjectsMD(w, r.Sync)
	}
	if len(r.Git) > 0 {
		fmt.Fprintf(w, "#### Changes in git from base to head\n\n")
		writePlanObjectsMD(w, r.Git)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "#### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", planMDText(n))
		}
		fmt.Fprintln(w)
	}
}

// writePlanTableMD prints the creates, updates, deletes and errors per kind,
// with a "Not compared" column only when some kind could not be read.
func writePlanTableMD(w io.Writer, r *PlanReport) {
	rows, total := planCounts(r.Primary(), r.Errors)
	if len(rows) == 0 {
		return
	}
	unread := total.Unreadable > 0
	row := func(cells ...string) {
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	nums := func(c planKindCounts, bold bool) []string {
		vals := []int{c.Create, c.Update, c.Delete, c.Unreadable, c.Errors}
		var out []string
		for i, v := range vals {
			if i == 3 && !unread {
				continue
			}
			s := fmt.Sprint(v)
			if bold {
				s = "**" + s + "**"
			}
			out = append(out, s)
		}
		return out
	}
	head := []string{"Kind", "Create", "Update", "Delete", "Not compared", "Errors"}
	if !unread {
		head = append(head[:4], "Errors")
	}
	row(head...)
	sep := []string{"---"}
	for range head[1:] {
		sep = append(sep, "--:")
	}
	row(sep...)
	for _, c := range rows {
		row(append([]string{c.Kind}, nums(c, false)...)...)
	}
	if len(rows) > 1 {
		row(append([]string{"**Total**"}, nums(total, true)...)...)
	}
	fmt.Fprintln(w)
}

// writePlanObjectsMD prints one collapsed section per object with its diff.
func writePlanObjectsMD(w io.Writer, objs []PlanObject) {
	for _, o := range objs {
		// HTML, not Markdown, inside <summary>: escaped for HTML only.
		summary := fmt.Sprintf("<code>%s %s</code> %s", planSymbols[o.Action], o.Action, html.EscapeString(o.ID()))
		if where := o.Where(); where != "" {
			summary += fmt.Sprintf(" (<code>%s</code>)", html.EscapeString(where))
		}
		if o.Note != "" && len(o.Changes) == 0 {
			// Nothing to unfold: the note says it all.
			fmt.Fprintf(w, "- %s: %s\n\n", summary, planMDText(o.Note))
			continue
		}
		fmt.Fprintf(w, "<details><summary>%s</summary>\n\n", summary)
		if o.Note != "" {
			fmt.Fprintf(w, "%s\n\n", planMDText(planUpper(o.Note)))
		}
		fence := "```"
		var body strings.Builder
		for _, c := range o.Changes {
			if planMultiline(c) {
				heading, lines := planLineChange(c)
				fmt.Fprintf(&body, "%s\n", heading)
				for _, l := range lines {
					fmt.Fprintf(&body, "%s   %s\n", l[:1], l[1:])
				}
				continue
			}
			switch c.Op {
			case FieldAdd:
				fmt.Fprintf(&body, "+ %s: %s\n", c.Path, PlanValue(c.New))
			case FieldRemove:
				fmt.Fprintf(&body, "- %s: %s\n", c.Path, PlanValue(c.Old))
			default:
				fmt.Fprintf(&body, "- %s: %s\n+ %s: %s\n", c.Path, PlanValue(c.Old), c.Path, PlanValue(c.New))
			}
		}
		for strings.Contains(body.String(), fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "%sdiff\n%s%s\n\n</details>\n\n", fence, body.String(), fence)
	}
}

// planProblemMD is an error with its place and field as code.
func planProblemMD(p PlanProblem) string {
	var parts []string
	switch {
	case p.File != "" && p.Line > 0:
		parts = append(parts, planCode(fmt.Sprintf("%s:%d", p.File, p.Line)))
	case p.File != "":
		parts = append(parts, planCode(p.File))
	}
	if p.Object != "" {
		parts = append(parts, planMDText(p.Object))
	}
	if p.Field != "" {
		parts = append(parts, planCode(p.Field))
	}
	parts = append(parts, planMDText(p.Message))
	return strings.Join(parts, ": ")
}

// planCode is s as inline code.
func planCode(s string) string {
	if strings.Contains(s, "`") {
		return "<code>" + html.EscapeString(s) + "</code>"
	}
	return "`" + s + "`"
}

// planMDText escapes what Markdown and HTML would read in plain text.
func planMDText(s string) string {
	s = html.EscapeString(s)
	r := strings.NewReplacer("*", `\*`, "_", `\_`, "`", "\\`", "|", `\|`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// planUpper capitalises the first letter of s.
func planUpper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
