package report_test

import (
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// remedyRun builds a run of a scenario with the given namespace settings
// and baseline; the server closes first unless client is set.
func remedyRun(name, baseline string, client bool, settings map[string]string, edit func(*report.Input)) report.Run {
	closer, closes, proto := loadgen.CloserServer, loadgen.Closes{ServerFirst: 40000}, loadgen.HTTP10
	if client {
		closer, closes, proto = loadgen.CloserClient, loadgen.Closes{ClientFirst: 40000}, loadgen.HTTP11
	}
	s := sc(name, proto, closer)
	s.Topology, s.NamespaceSettings, s.Baseline = "veth", settings, baseline
	in := report.Input{Scenario: s, Target: "http://198.18.0.1:80/", Builtin: true,
		Result: result(40000, 400*time.Microsecond, closes), Samples: samples(!client, 4000), Host: host("2", "1"),
		Counters: sockstat.Counters{"TW": 40000, "TWRecycled": 0, "TCPTimeWaitOverflow": 0}}
	if edit != nil {
		edit(&in)
	}
	return report.Build(in)
}

// remedyRuns are runs of each remedy and of their baselines.
func remedyRuns() []report.Run {
	rebind := 0.6
	return []report.Run{
		remedyRun("fin", "cc", true, map[string]string{"fin_timeout": "5"}, nil),
		remedyRun("cc", "", true, nil, nil),
		remedyRun("reuse", "off", true, map[string]string{"tw_reuse": "1", "port_range": "40000-40999"}, func(in *report.Input) {
			in.Counters["TWRecycled"] = 39000
		}),
		remedyRun("off", "", true, map[string]string{"tw_reuse": "0", "port_range": "40000-40999"}, func(in *report.Input) {
			in.Result.Connections = 1000
			in.Result.Errors[loadgen.ErrAddrNotAvail] = 3000
		}),
		remedyRun("buckets", "ab", false, map[string]string{"max_tw_buckets": "1000"}, func(in *report.Input) {
			in.Counters["TCPTimeWaitOverflow"] = 6605
		}),
		remedyRun("ab", "", false, nil, nil),
		remedyRun("restart", "stuck", false, nil, func(in *report.Input) {
			in.Restart = &report.Restart{AtS: 2, ReuseAddr: true, Bound: true, RebindMS: &rebind, Attempts: 1}
		}),
		remedyRun("stuck", "", false, nil, func(in *report.Input) {
			in.Restart = &report.Restart{AtS: 2, Attempts: 20, Error: "EADDRINUSE", ErrorMessage: "bind: address already in use", TimeWaitOnPort: 2005}
		}),
		remedyRun("reuseport", "ab", false, nil, func(in *report.Input) { in.ListenerAccepts = []int64{10000, 9000, 11000, 10000} }),
	}
}
