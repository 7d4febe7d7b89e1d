//go:build !linux

package loadgen

import "errors"

// haveEventLoop: the event-loop client is Linux's (epoll); elsewhere the
// workers drive every run.
const haveEventLoop = false

type loop struct{ tally }

func newLoops(*Generator) ([]*loop, error) { return nil, errors.ErrUnsupported }

func (g *Generator) runLoops() (pacerStats, error) { return pacerStats{}, errors.ErrUnsupported }

func (g *Generator) wakeLoops() {}
