package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Table is rows of text under column headers, printed as kubectl prints tables.
type Table struct {
	// Columns are the headers, printed upper-case.
	Columns []string
	// Rows are the cells, one per column; a cell's tabs and newlines print as
	// spaces.
	Rows [][]string
}

// NewTabWriter returns the tab writer kubectl aligns its tables with: columns at
// least 6 wide, 3 spaces between them.
func NewTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}

// Write prints the table: headers (unless noHeaders), then one line per row,
// columns aligned.
func (t *Table) Write(w io.Writer, noHeaders bool) error {
	tw := NewTabWriter(w)
	if !noHeaders {
		head := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			head[i] = strings.ToUpper(c)
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
	}
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cellText(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// cellText keeps a cell on one line and in one column.
func cellText(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// ServerTableOptions say how to print a meta.k8s.io Table.
type ServerTableOptions struct {
	// Wide keeps the columns of priority above 0 (-o wide).
	Wide bool
	// WithNamespace adds a NAMESPACE column first (-A), read from each row's
	// object metadata.
	WithNamespace bool
	// KindPrefix prefixes names with "pod/" and the like, as kubectl does when
	// several kinds are listed.
	KindPrefix string
}

// FromServerTable converts a Table the API server rendered (Accept:
// application/json;as=Table;v=v1;g=meta.k8s.io) into a Table to print.
func FromServerTable(st *metav1.Table, o ServerTableOptions) *Table {
	var keep []int
	t := &Table{}
	if o.WithNamespace {
		t.Columns = append(t.Columns, "Namespace")
	}
	for i, c := range st.ColumnDefinitions {
		if c.Priority == 0 || o.Wide {
			keep = append(keep, i)
			t.Columns = append(t.Columns, c.Name)
		}
	}
	for _, r := range st.Rows {
		var row []string
		if o.WithNamespace {
			row = append(row, rowNamespace(r))
		}
		for _, i := range keep {
			cell := ""
			if i < len(r.Cells) {
				cell = cellString(r.Cells[i])
			}
			if i == 0 && o.KindPrefix != "" {
				cell = o.KindPrefix + "/" + cell
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// rowNamespace reads the namespace from a row's object metadata.
func rowNamespace(r metav1.TableRow) string {
	var m metav1.PartialObjectMetadata
	if len(r.Object.Raw) > 0 && json.Unmarshal(r.Object.Raw, &m) == nil {
		return m.Namespace
	}
	if acc, ok := r.Object.Object.(metav1.Object); ok {
		return acc.GetNamespace()
	}
	return ""
}

// cellString prints a table cell as kubectl does; numbers decoded from JSON
// print without exponent or fraction.
func cellString(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = cellString(p)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}

// Widths returns each column's width as Write aligns it: its widest cell, and
// its header unless noHeaders.
func (t *Table) Widths(noHeaders bool) []int {
	w := make([]int, len(t.Columns))
	if !noHeaders {
		for i, c := range t.Columns {
			w[i] = utf8.RuneCountInString(c)
		}
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(w) {
				w[i] = max(w[i], utf8.RuneCountInString(cellText(c)))
			}
		}
	}
	return w
}

// WriteRows prints rows aligned to widths, as if they had been part of the table
// Write printed (for rows that arrive later, as `get --watch` prints them); a
// wider cell widens its column from then on.
func WriteRows(w io.Writer, rows [][]string, widths []int) error {
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			c = cellText(c)
			b.WriteString(c)
			if i == len(r)-1 {
				break
			}
			n := utf8.RuneCountInString(c)
			if i < len(widths) {
				widths[i] = max(widths[i], n)
				n = widths[i] - n
			} else {
				n = 0
			}
			b.WriteString(strings.Repeat(" ", n+3))
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	return nil
}
