package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The formats WritePlan prints.
const (
	PlanFormatText     = "text"
	PlanFormatMarkdown = "markdown"
	PlanFormatJSON     = "json"
)

// WritePlan prints a plan as text (for a terminal), markdown (for a
// pull-request comment) or json (for scripts).
func WritePlan(w io.Writer, r *PlanReport, format string) error {
	bw := bufio.NewWriter(w)
	switch format {
	case PlanFormatText, "":
		writePlanText(bw, r)
	case PlanFormatMarkdown, "md":
		writePlanMarkdown(bw, r)
	case PlanFormatJSON:
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode plan as json: %w", err)
		}
		bw.Write(data)
		bw.WriteByte('\n')
	default:
		return fmt.Errorf("unknown format %q: want text, markdown or json", format)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// planSymbols mark an object's action.
var planSymbols = map[string]string{PlanCreate: "+", PlanUpdate: "~", PlanDelete: "-", PlanUnreadable: "?", PlanDrift: "!"}

// planHeading says what was compared with what, in one line.
func planHeading(r *PlanReport, code func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "head %s", code(r.Head.Short()))
	if r.Head.Subject != "" {
		fmt.Fprintf(&b, " %q", r.Head.Subject)
	}
	if r.Base != nil {
		fmt.Fprintf(&b, ", base %s", code(r.Base.Short()))
	}
	fmt.Fprintf(&b, ", path %s", code(r.Path))
	if r.Cluster {
		fmt.Fprintf(&b, ", against the cluster (source %s)", code(r.Source))
	} else {
		b.WriteString(", offline")
	}
	return b.String()
}

// planSummary is the one-line verdict: "1 to create, 2 to update, 1 error; 3 unchanged".
func planSummary(r *PlanReport) string {
	_, t := planCounts(r.Primary(), r.Errors)
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(t.Create, "to create")
	add(t.Update, "to update")
	add(t.Delete, "to delete")
	add(t.Unreadable, "not compared")
	add(len(r.Unschedulable), planPlural(len(r.Unschedulable), "workload that does not fit", "workloads that do not fit"))
	add(t.Errors, planPlural(t.Errors, "error", "errors"))
	if len(parts) == 0 {
		against := "base"
		if r.Cluster {
			against = "the live cluster"
		}
		if r.BaseBroken {
			return "base does not load: changes unknown"
		}
		return fmt.Sprintf("no changes: head matches %s (%d objects)", against, r.Unchanged)
	}
	if len(r.Primary()) == 0 && r.Unchanged == 0 {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; %d unchanged", r.Unchanged)
}

func planPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// writePlanText prints the plan for a terminal.
func writePlanText(w io.Writer, r *PlanReport) {
	fmt.Fprintf(w, "berth plan: %s\n", planHeading(r, func(s string) string { return s }))
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\nErrors (%d): head cannot be synced\n", len(r.Errors))
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if len(r.Unschedulable) > 0 {
		fmt.Fprintf(w, "\nPods that would not fit (%d):\n", len(r.Unschedulable))
		for _, f := range r.Unschedulable {
			fmt.Fprintf(w, "  %s: %s\n", f.Object, f.Message)
		}
	}
	if len(r.Drift) > 0 {
		fmt.Fprintf(w, "\nDrift (%d): live objects changed outside git (old: as applied, new: live)\n", len(r.Drift))
		writePlanObjectsText(w, r.Drift)
	}
	if r.Cluster && len(r.Sync) > 0 {
		fmt.Fprintf(w, "\nSync: what a sync of head would do to the live cluster\n")
		writePlanObjectsText(w, r.Sync)
	}
	if len(r.Git) > 0 {
		fmt.Fprintf(w, "\nChanges in git from base to head\n")
		writePlanObjectsText(w, r.Git)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nPlan: %s.\n", planSummary(r))
}

// writePlanObjectsText prints objects with their field changes, indented.
func writePlanObjectsText(w io.Writer, objs []PlanObject) {
	for _, o := range objs {
		fmt.Fprintf(w, "  %s %s %s", planSymbols[o.Action], o.Action, o.ID())
		if where := o.Where(); where != "" {
			fmt.Fprintf(w, " (%s)", where)
		}
		if o.Note != "" {
			fmt.Fprintf(w, ": %s", o.Note)
		}
		fmt.Fprintln(w)
		for _, c := range o.Changes {
			if planMultiline(c) {
				heading, lines := planLineChange(c)
				fmt.Fprintf(w, "      %s\n", heading)
				for _, l := range lines {
					fmt.Fprintf(w, "          %s %s\n", l[:1], l[1:])
				}
				continue
			}
			fmt.Fprintf(w, "      %s\n", planChangeText(c))
		}
	}
}

// planChangeText is one field change in one line: "+ path: value",
// "- path: value" or "~ path: old → new".
func planChangeText(c PlanFieldChange) string {
	switch c.Op {
	case FieldAdd:
		return fmt.Sprintf("+ %s: %s", c.Path, PlanValue(c.New))
	case FieldRemove:
		return fmt.Sprintf("- %s: %s", c.Path, PlanValue(c.Old))
	}
	return fmt.Sprintf("~ %s: %s → %s", c.Path, PlanValue(c.Old), PlanValue(c.New))
}
