//go:build darwin

package sockstat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

const (
	// netstatPath is where macOS keeps netstat; the path is fixed so that
	// a netstat earlier in PATH is not run instead.
	netstatPath = "/usr/sbin/netstat"
	// netstatTimeout bounds one run: netstat lists 100k sockets in well
	// under a second.
	netstatTimeout = 10 * time.Second
	// netstatMaxOutput bounds what is read of one run: about 300 bytes a
	// socket with -v, so room for 200k sockets.
	netstatMaxOutput = 64 << 20
)

// errOutputLimit is returned by a limitedBuffer that is full.
var errOutputLimit = errors.New("output over the limit")

// limitedBuffer is a bytes.Buffer that refuses to grow past max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errOutputLimit
	}
	return b.Buffer.Write(p)
}

// runNetstat runs netstat with args and returns its output.
func runNetstat(args []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), netstatTimeout)
	defer cancel()
	out := &limitedBuffer{max: netstatMaxOutput}
	var stderr limitedBuffer
	stderr.max = 4 << 10
	cmd := exec.CommandContext(ctx, netstatPath, args...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, errOutputLimit) {
			err = fmt.Errorf("more than %d MiB of output: %w", netstatMaxOutput>>20, err)
		} else if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return nil, fmt.Errorf("sockstat: %s %s: %w", netstatPath, strings.Join(args, " "), err)
	}
	return out.Bytes(), nil
}
