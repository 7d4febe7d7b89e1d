package report

import (
	"bytes"
	"encoding/json"
	"errors"
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
	return DecodeReport(bytes.NewReader(data))
}

// DecodeReport reads one JSON report from rd, as ReadReport; nothing but
// space may follow it. It decodes the runs one at a time, so a report of
// any size is never held as text in memory.
func DecodeReport(rd io.Reader) (*Report, error) { return decodeReport(rd, nil) }

// DecodeFigures reads a report as DecodeReport, but keeps of each run only
// what Compare reads (figuresOnly), as it is read: compare of two reports
// of 20,000 runs each held 1.3 GB with the rest.
func DecodeFigures(rd io.Reader) (*Report, error) {
	return decodeReport(rd, func(run *Run) { *run = figuresOnly(run) })
}

func decodeReport(rd io.Reader, each func(*Run)) (*Report, error) {
	r, err := decodeStream(json.NewDecoder(rd), each)
	if err != nil {
		return nil, fmt.Errorf("not a twbench JSON report: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("schema %q: want %q", r.Schema, Schema)
	}
	return r, nil
}

// decodeStream decodes the report's object key by key, and its runs one
// by one, handing each to each (if set) as it is read.
func decodeStream(d *json.Decoder, each func(*Run)) (*Report, error) {
	if err := expectDelim(d, '{'); err != nil {
		return nil, err
	}
	r := &Report{}
	rest := map[string]json.RawMessage{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch key {
		case "runs":
			if err := decodeRuns(d, r, each); err != nil {
				return nil, err
			}
		case "schema":
			err = d.Decode(&r.Schema)
		case "twbench_version":
			err = d.Decode(&r.Version)
		case "host":
			err = d.Decode(&r.Host)
		default:
			// The report's other keys (a shard's, a fleet's) are decoded as
			// encoding/json decodes them into Report, below; a key added by
			// a later version is skipped.
			var raw json.RawMessage
			if err = d.Decode(&raw); err == nil {
				rest[key] = raw
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err == nil {
			err = json.Unmarshal(b, r)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more after the report")
	}
	return r, nil
}

func decodeRuns(d *json.Decoder, r *Report, each func(*Run)) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return fmt.Errorf("runs: want a list, not %v", tok)
	}
	r.Runs = []Run{}
	for d.More() {
		var run Run
		if err := d.Decode(&run); err != nil {
			return fmt.Errorf("runs[%d]: %w", len(r.Runs), err)
		}
		if each != nil {
			each(&run)
		}
		r.Runs = append(r.Runs, run)
	}
	return expectDelim(d, ']')
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != want {
		return fmt.Errorf("want %q, not %v", want, tok)
	}
	return nil
}
