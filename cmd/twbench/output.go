package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// reportFile is a report written atomically: to a temporary file beside
// its path, renamed into place only when complete. A file already at the
// path is untouched until then, so a run refused, failed or cut short, or
// a disk that fills, loses nothing already on disk and leaves no partial
// report.
type reportFile struct {
	path string
	tmp  *os.File
	mode fs.FileMode
}

// createReportFile opens the temporary file, so that a path that cannot be
// written fails before the run, not after it. Call it after everything
// else has been checked.
func createReportFile(path string) (*reportFile, error) {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", path)
		}
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return &reportFile{path: path, tmp: tmp, mode: mode}, nil
}

// commit writes the report with write and moves it into place; on any
// error the temporary file is removed and the path left as it was.
func (f *reportFile) commit(write func(io.Writer) error) error {
	err := write(f.tmp)
	if err == nil {
		err = f.tmp.Chmod(f.mode)
	}
	if err == nil {
		err = f.tmp.Sync()
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write report to %s: %w", f.path, err)
	}
	return nil
}

// discard removes the temporary file of a report that will not be
// written.
func (f *reportFile) discard() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// stdoutGone reports whether a write failed because stdout's reader went
// away (`twbench run | head`): not the run's failure, which keeps its own
// exit code.
func stdoutGone(err error) bool { return errors.Is(err, syscall.EPIPE) }
