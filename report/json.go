package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// ReadReport decodes a JSON report written by WriteJSON, checking its
// schema version.
func ReadReport(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not a twbench JSON report: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("schema %q: want %q", r.Schema, Schema)
	}
	return &r, nil
}
