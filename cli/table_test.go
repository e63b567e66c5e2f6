package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// serverTable is a pods Table as the API server renders it, with row metadata.
func serverTable() *metav1.Table {
	return &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name"}, {Name: "Ready"}, {Name: "Restarts"}, {Name: "Age"}, {Name: "IP", Priority: 1},
		},
		Rows: []metav1.TableRow{
			{Cells: []any{"web-1", "1/1", float64(0), "5m", "10.42.0.5"}, Object: runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"web-1","namespace":"shop"}}`)}},
			{Cells: []any{"db", "0/1", float64(12), "3d", nil}, Object: runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"db","namespace":"data"}}`)}},
		},
	}
}

func TestFromServerTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ServerTableOptions
		want *Table
	}{
		{"default columns", ServerTableOptions{}, &Table{
			Columns: []string{"Name", "Ready", "Restarts", "Age"},
			Rows:    [][]string{{"web-1", "1/1", "0", "5m"}, {"db", "0/1", "12", "3d"}},
		}},
		{"wide, all namespaces, kind prefix", ServerTableOptions{Wide: true, WithNamespace: true, KindPrefix: "pod"}, &Table{
			Columns: []string{"Namespace", "Name", "Ready", "Restarts", "Age", "IP"},
			Rows:    [][]string{{"shop", "pod/web-1", "1/1", "0", "5m", "10.42.0.5"}, {"data", "pod/db", "0/1", "12", "3d", ""}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FromServerTable(serverTable(), tc.o)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableWrite(t *testing.T) {
	tab := &Table{Columns: []string{"Name", "Last Seen"}, Rows: [][]string{{"a", "5m (x2 over 10m)"}, {"longer-name", "multi\nline"}}}
	var b bytes.Buffer
	if err := tab.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "NAME          LAST SEEN\n" +
		"a             5m (x2 over 10m)\n" +
		"longer-name   multi line\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	_ = tab.Write(&b, true)
	if want := "a             5m (x2 over 10m)\nlonger-name   multi line\n"; b.String() != want {
		t.Errorf("without headers got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCellString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {"x", "x"}, {float64(3), "3"}, {float64(1500000), "1500000"}, {1.5, "1.5"}, {true, "true"},
		{[]any{"a", float64(2)}, "a,2"},
	} {
		if got := cellString(tc.in); got != tc.want {
			t.Errorf("cellString(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "<unknown>"},
		{now, "0s"},
		{now.Add(time.Minute), "0s"},
		{now.Add(-90 * time.Second), "90s"},
		{now.Add(-5*time.Minute - 10*time.Second), "5m10s"},
		{now.Add(-72 * time.Hour), "3d"},
	} {
		if got := Age(tc.t, now); got != tc.want {
			t.Errorf("Age(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestFieldLabel(t *testing.T) {
	for in, want := range map[string]string{
		"spec": "Spec", "observedGeneration": "Observed Generation", "podIP": "Pod IP",
		"clusterIPs": "Cluster IPs", "hostIPsFor": "Host IPs For", "URLPath": "URL Path", "data": "Data",
	} {
		if got := fieldLabel(in); got != want {
			t.Errorf("fieldLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteRowsKeepsTheTableAligned(t *testing.T) {
	tab := &Table{Columns: []string{"Name", "Status", "Age"}, Rows: [][]string{{"web-1", "Running", "5m"}}}
	var b bytes.Buffer
	if err := tab.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	widths := tab.Widths(false)
	if err := WriteRows(&b, [][]string{{"web-2", "Pending", "0s"}, {"a-much-longer-name", "Running", "1s"}, {"web-3", "Running", "2s"}}, widths); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME    STATUS    AGE\n" +
		"web-1   Running   5m\n" +
		"web-2   Pending   0s\n" +
		"a-much-longer-name   Running   1s\n" +
		"web-3                Running   2s\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
