package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/apiserver/registry"
)

// TestPlanDiff: the field diff of two versions of an object, one line per change.
func TestPlanDiff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     *registry.Kind
		old, new string
		want     []string
	}{
		{
			name: "containers by name, ports by containerPort, env by name",
			kind: registry.Deployments(),
			old: `spec: {template: {spec: {containers: [
  {name: web, image: "web:1", ports: [{containerPort: 80, name: http}], env: [{name: A, value: "1"}]},
  {name: log, image: "log:1"}]}}}`,
			new: `spec: {template: {spec: {containers: [
  {name: log, image: "log:1"},
  {name: web, image: "web:2", ports: [{containerPort: 80, name: web}, {containerPort: 443}], env: [{name: B, value: "2"}]}]}}}`,
			want: []string{
				`+ spec.template.spec.containers[name=web].env[name=B].value: "2"`,
				`- spec.template.spec.containers[name=web].env[name=A].value: "1"`,
				"~ spec.template.spec.containers[name=web].image: web:1 → web:2",
				"~ spec.template.spec.containers[name=web].ports[containerPort=80].name: http → web",
				"+ spec.template.spec.containers[name=web].ports[containerPort=443].containerPort: 443",
			},
		},
		{
			name: "a short list of scalars is one value, a label with a dot is quoted",
			kind: registry.Pods(),
			old:  `{metadata: {labels: {app.kubernetes.io/name: a}}, spec: {containers: [{name: c, args: [a, b]}]}}`,
			new:  `{metadata: {labels: {app.kubernetes.io/name: b}}, spec: {containers: [{name: c, args: [a, c]}]}}`,
			want: []string{
				`~ metadata.labels["app.kubernetes.io/name"]: a → b`,
				`~ spec.containers[name=c].args: ["a","b"] → ["a","c"]`,
			},
		},
		{
			name: "values of a Secret are masked, even their removal",
			kind: registry.Secrets(),
			old:  `{metadata: {name: s, annotations: {kubectl.kubernetes.io/last-applied-configuration: "{\"data\":{\"k\":\"djE=\"}}"}}, data: {k: djE=, gone: eA==}, type: Opaque}`,
			new:  `{metadata: {name: s}, data: {k: djI=}, stringData: {new: v3}, type: kubernetes.io/tls}`,
			want: []string{
				"- data.gone: ***",
				"~ data.k: *** → ***",
				`- metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]: ***`,
				"+ stringData.new: ***",
				"~ type: Opaque → kubernetes.io/tls",
			},
		},
		{
			name: "berth's own label and annotation are not changes; numbers compare by value",
			kind: registry.ConfigMaps(),
			old:  `{metadata: {name: c, generation: 2, labels: {berth.dev/source: a}, annotations: {berth.dev/last-applied: x}}, data: {n: "1"}}`,
			new:  `{metadata: {name: c, generation: 2.0, labels: {berth.dev/source: b}}, data: {n: "1"}}`,
		},
		{
			name: "strings that would read as other types are quoted, long ones cut",
			kind: registry.ConfigMaps(),
			old:  `{data: {a: "true", b: "x y", c: ""}}`,
			new:  `{data: {a: "false", b: "x  y", c: "` + strings.Repeat("z", 130) + `"}}`,
			want: []string{
				`~ data.a: "true" → "false"`,
				`~ data.b: "x y" → "x  y"`,
				`~ data.c: "" → ` + strings.Repeat("z", 120) + "… (130 bytes)",
			},
		},
		{
			name: "a created object lists its fields, without its name",
			kind: registry.Services(),
			new:  `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: d}, spec: {ports: [{port: 80, name: http}], selector: {app: s}}}`,
			want: []string{
				"+ spec.ports[name=http].port: 80",
				"+ spec.selector.app: s",
			},
		},
		{
			name: "lists without a key compare by index",
			kind: registry.Pods(),
			old:  `{spec: {tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]}}`,
			new:  `{spec: {tolerations: [{key: a, operator: Exists}]}}`,
			want: []string{
				"- spec.tolerations[1].key: b",
				"- spec.tolerations[1].operator: Exists",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range planDiff(tc.kind, planYAML(t, tc.old), planYAML(t, tc.new)) {
				got = append(got, planChangeText(c))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
		})
	}
}

// planYAML decodes an object written as YAML; "" is nil.
func planYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPlanLineDiff: multi-line values change line by line, with two lines of
// context around each change.
func TestPlanLineDiff(t *testing.T) {
	for _, tc := range []struct {
		old, new string
		want     []string
	}{
		{"a\nb\nc\n", "a\nB\nc\n", []string{" a", "-b", "+B", " c"}},
		{"1\n2\n3\n4\n5\n6\n7\n", "1\n2\n3\n4\n5\n6\n7\nx\n", []string{" …", " 6", " 7", "+x"}},
		{"x\n1\n2\n3\n4\n5\n6\ny\n", "1\n2\n3\n4\n5\n6\n", []string{"-x", " 1", " 2", " …", " 5", " 6", "-y"}},
		{"", "a\nb", []string{"+a", "+b"}},
	} {
		if got := planLineDiff(tc.old, tc.new); !cmp.Equal(got, tc.want) {
			t.Errorf("planLineDiff(%q, %q) = %q, want %q", tc.old, tc.new, got, tc.want)
		}
	}
}
