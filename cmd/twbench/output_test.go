package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportFileIsAtomic: a report is moved into place only when it was
// written whole; a failed write leaves the file that was there, and no
// temporary file beside it.
func TestReportFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := createReportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full := errors.New("no space left on device")
	err = f.commit(func(w io.Writer) error {
		io.WriteString(w, "half a rep")
		return full
	})
	if !errors.Is(err, full) {
		t.Errorf("commit = %v; want the write's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q; want the old report", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after a failed write the directory holds %d files; want the old report alone", len(entries))
	}

	f, err = createReportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.commit(func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	f.discard() // after a commit, a no-op
	st, err := os.Stat(path)
	if b, _ := os.ReadFile(path); err != nil || string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("after a commit the file holds %q with mode %v; want the new report with the old file's mode 0600", b, st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after a commit the directory holds %d files; want the report alone", len(entries))
	}
	if _, err := createReportFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("createReportFile(a directory) = %v; want an error", err)
	}
}

// TestRefusedRunKeepsTheReport: a run refused as bad input leaves an
// existing -o file as it was (it was emptied when the file was created
// before the last checks).
func TestRefusedRunKeepsTheReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte(`{"schema":"twbench.report/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--closer", "client", "-d", "1s", "--client-port-range", "100-200", "-o", path},
		{"run", "--closer", "client", "-d", "1s", "--source", "192.0.2.7", "-o", path},
		{"run", "--expect", "qps >", "-o", path},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if exitCode(err) != exitUsage {
			t.Errorf("twbench %s = %v; want exit 2", strings.Join(args, " "), err)
		}
		if b, _ := os.ReadFile(path); string(b) != `{"schema":"twbench.report/v1"}` {
			t.Errorf("twbench %s left -o holding %q; want the report that was there", strings.Join(args, " "), b)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the refused runs left %d files; want the report alone", len(entries))
	}
}

// TestBrokenPipeKeepsTheVerdict: with stdout's reader gone, a failed
// expectation still says so on stderr and exits 1 (it exited 141, by
// SIGPIPE, with the failure never printed).
func TestBrokenPipeKeepsTheVerdict(t *testing.T) {
	bin := twbenchBinary(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	cmd := exec.Command(bin, "run", "keepalive", "-d", "300ms", "--no-progress", "--expect", "qps < 0")
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitExpectation {
		t.Fatalf("twbench run with a closed stdout = %v; want exit 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "expectation failed (--expect): qps < 0") {
		t.Errorf("stderr = %q; want the failed expectation", stderr.String())
	}
}

// TestNoRequestAnswered: a run too short for any response says so, not
// "no request succeeded" beside 0 errors.
func TestNoRequestAnswered(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--closer", "client", "-d", "1ns", "--no-progress"}, &stdout, &stderr)
	if exitCode(err) != exitRunFailed || err == nil || !strings.Contains(err.Error(), "no request was answered within the run's 1ns") {
		t.Errorf("twbench run --closer client -d 1ns = %v (exit %d); want exit 3 saying no request was answered in 1ns", err, exitCode(err))
	}
}
