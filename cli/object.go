package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// WriteObject prints v (an object, a list or any JSON-marshalable value) as
// format "yaml" or "json", as kubectl -o yaml|json does (JSON indented by four
// spaces).
func WriteObject(w io.Writer, v any, format string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	switch format {
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "    "); err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		buf.WriteByte('\n')
		_, err = w.Write(buf.Bytes())
	case "yaml":
		var y []byte
		if y, err = yaml.JSONToYAML(data); err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = w.Write(y)
	default:
		return fmt.Errorf("unknown output format %q: want yaml or json", format)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}
