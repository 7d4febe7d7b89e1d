package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Restart is what became of the built-in target's restart mid-load
// (scenario key restart_at): it was stopped and started again on the same
// address, with or without SO_REUSEADDR.
type Restart struct {
	// AtS is when it was stopped, seconds from the load's start; StopMS
	// how long the stop took (it lets requests in progress finish, and
	// refuses new connections meanwhile).
	AtS    float64 `json:"at_s"`
	StopMS float64 `json:"stop_ms"`
	// ReuseAddr says whether its listening socket had SO_REUSEADDR.
	ReuseAddr bool `json:"reuseaddr"`
	// Bound says whether it bound again before the load ended; RebindMS
	// is how long after the end of the stop it did (null: it did not),
	// Attempts the binds it tried, one every 100 ms.
	Bound    bool     `json:"bound"`
	RebindMS *float64 `json:"rebind_ms"`
	Attempts int      `json:"attempts"`
	// Error is what the first failed bind failed with (EADDRINUSE), and
	// ErrorMessage its message; TimeWaitOnPort counts the TIME_WAIT
	// sockets on the server's address and port when it failed (-1: not
	// counted). All three are absent when the first bind succeeded.
	Error          string `json:"error,omitempty"`
	ErrorMessage   string `json:"error_message,omitempty"`
	TimeWaitOnPort int    `json:"time_wait_on_port,omitempty"`
}

// ReusePort is the built-in target's SO_REUSEPORT listeners (scenario key
// reuseport): how many, and the connections each accepted.
type ReusePort struct {
	Listeners int     `json:"listeners"`
	Accepts   []int64 `json:"accepts"`
}

// Remedy is what a scenario that modifies a baseline with a remedy
// measured (scenario key baseline): the remedy, what it is said to do,
// the figure it is judged by in this run and in the baseline's, when
// both ran in one report, and the effect in a sentence.
type Remedy struct {
	Name     string `json:"name"`
	Claim    string `json:"claim"`
	Baseline string `json:"baseline"`
	// Figure names the figure (as expectations name it, where they can),
	// Value is its value in this run and BaselineValue in the baseline's
	// run; null when the run does not have it (a restart that never
	// bound), or the baseline did not run in this report.
	Figure        string   `json:"figure"`
	Value         *float64 `json:"value"`
	BaselineValue *float64 `json:"baseline_value"`
	Effect        string   `json:"effect"`
}

// remedyKind is a remedy: when a scenario applies it, its name, and how
// its effect is measured, against a baseline run if there is one.
type remedyKind struct {
	applies func(r *Run) bool
	name    func(r *Run) string
	figure  func(r *Run) string
	value   func(r *Run) *float64
	effect  func(r, base *Run, name string) string
}

// remedyKinds lists the remedies, the first that applies to a run
// being its remedy.
func remedyKinds() []remedyKind {
	return []remedyKind{
		{applies: func(r *Run) bool { return r.Restart != nil }, name: reuseAddrName,
			figure: named("restart.rebind_ms"), value: rebindMS, effect: restartEffect},
		{applies: func(r *Run) bool { return r.ReusePort != nil }, name: func(r *Run) string {
			return "SO_REUSEPORT with " + strconv.Itoa(r.ReusePort.Listeners) + " listeners"
		}, figure: named("server.time_wait_per_request"), value: func(r *Run) *float64 { return r.Server.TimeWaitPerRequest }, effect: reusePortEffect},
		{applies: setting("fin_timeout"), name: settingName("tcp_fin_timeout", "fin_timeout"),
			figure: named("time_wait_seconds"), value: timeWaitSeconds, effect: finTimeoutEffect},
		{applies: setting("max_tw_buckets"), name: settingName("tcp_max_tw_buckets", "max_tw_buckets"),
			figure: func(r *Run) string { return closingEnd(r) + ".peak.TIME_WAIT" }, value: func(r *Run) *float64 { return figure(float64(closingPeak(r))) }, effect: bucketsEffect},
		{applies: setting("tw_reuse"), name: settingName("tcp_tw_reuse", "tw_reuse"),
			figure: named("errors.EADDRNOTAVAIL"), value: func(r *Run) *float64 { return figure(float64(r.Errors["EADDRNOTAVAIL"])) }, effect: twReuseEffect},
	}
}

func named(figure string) func(r *Run) string { return func(*Run) string { return figure } }

func setting(key string) func(r *Run) bool {
	return func(r *Run) bool { _, ok := r.Scenario.NamespaceSettings[key]; return ok }
}

func settingName(sysctl, key string) func(r *Run) string {
	return func(r *Run) string { return sysctl + "=" + r.Scenario.NamespaceSettings[key] }
}

// remedyOf returns the remedy a run with a baseline measured, against
// base if it ran; nil for a run without a baseline or a remedy.
func remedyOf(r, base *Run) *Remedy {
	if r.Scenario.Baseline == "" {
		return nil
	}
	i := slices.IndexFunc(remedyKinds(), func(k remedyKind) bool { return k.applies(r) })
	if i < 0 {
		return nil
	}
	k := remedyKinds()[i]
	m := &Remedy{Name: k.name(r), Claim: r.Scenario.Description, Baseline: r.Scenario.Baseline,
		Figure: k.figure(r), Value: k.value(r)}
	if base != nil && base.Scenario.Name == r.Scenario.Baseline {
		m.BaselineValue = k.value(base)
	} else {
		base = nil
	}
	m.Effect = k.effect(r, base, m.Name)
	return m
}

// LinkRemedies measures each run's remedy against its baseline's run,
// when that ran in the same report.
func LinkRemedies(runs []Run) {
	for i := range runs {
		if runs[i].Remedy == nil {
			continue
		}
		j := slices.IndexFunc(runs, func(b Run) bool { return b.Scenario.Name == runs[i].Scenario.Baseline })
		if j >= 0 {
			runs[i].Remedy = remedyOf(&runs[i], &runs[j])
		}
	}
}

func reuseAddrName(r *Run) string {
	if r.Restart.ReuseAddr {
		return "SO_REUSEADDR"
	}
	return "no SO_REUSEADDR"
}

func rebindMS(r *Run) *float64 {
	if r.Restart == nil || r.Restart.RebindMS == nil {
		return nil
	}
	return figure(*r.Restart.RebindMS)
}

func timeWaitSeconds(r *Run) *float64 { return r.TimeWaitSeconds }

// figure is a remedy's figure, to three decimals.
func figure(v float64) *float64 {
	v = round(v, 3)
	return &v
}

// closingPeak is the peak TIME_WAIT of the end that held more of it,
// closingEnd that end's name.
func closingPeak(r *Run) int { return max(r.Client.Peak["TIME_WAIT"], r.Server.Peak["TIME_WAIT"]) }

func closingEnd(r *Run) string {
	if r.Client.Peak["TIME_WAIT"] > r.Server.Peak["TIME_WAIT"] {
		return "client"
	}
	return "server"
}

// overflow counts TIME_WAIT sockets the kernel did not keep at
// tcp_max_tw_buckets, in every namespace of the run.
func overflow(r *Run) int64 {
	return r.KernelCounters["TCPTimeWaitOverflow"] + r.Server.KernelCounters["TCPTimeWaitOverflow"]
}

// versus names the baseline and its figure: " (tw-reuse-client-off: 60.0 s)".
func versus(base *Run, figure string) string {
	if base == nil {
		return ""
	}
	return " (" + base.Scenario.Name + ": " + figure + ")"
}

func restartEffect(r, base *Run, name string) string {
	rs := r.Restart
	var msg string
	switch {
	case rs.Error == "" && rs.Bound:
		msg = fmt.Sprintf("%s: the restarted server bound its port at once, %s ms after the stop", name, commasFloat(*rs.RebindMS, 1))
	case rs.Bound:
		msg = fmt.Sprintf("%s: the restart's bind failed with %s against %s TIME_WAIT sockets on the port, and bound %s later",
			name, rs.Error, commas(int64(rs.TimeWaitOnPort)), seconds(*rs.RebindMS/1000))
	default:
		msg = fmt.Sprintf("%s: the restart's bind failed with %s against %s TIME_WAIT sockets on the port, %d times until the load ended",
			name, rs.Error, commas(int64(rs.TimeWaitOnPort)), rs.Attempts)
	}
	if base != nil && base.Restart != nil {
		b := base.Restart
		other := "bound at once"
		if b.Error != "" {
			other = fmt.Sprintf("failed with %s against %s TIME_WAIT", b.Error, commas(int64(b.TimeWaitOnPort)))
		}
		msg += fmt.Sprintf(", where %s's (%s) %s", base.Scenario.Name, reuseAddrName(base), other)
	}
	return msg
}

func reusePortEffect(r, base *Run, name string) string {
	parts := make([]string, len(r.ReusePort.Accepts))
	for i, n := range r.ReusePort.Accepts {
		parts[i] = commas(n)
	}
	b := ""
	if base != nil {
		b = versus(base, fmt.Sprintf("%.2f", perRequest(&base.Server)))
	}
	return fmt.Sprintf("%s spread the accepts (%s) but not the TIME_WAIT: %.2f new per request on the server%s; it spreads accepts across threads, it is no TIME_WAIT remedy",
		name, strings.Join(parts, ", "), perRequest(&r.Server), b)
}

func finTimeoutEffect(r, base *Run, name string) string {
	if r.TimeWaitSeconds == nil {
		return name + ": no TIME_WAIT socket was seen to measure its length"
	}
	tw := *r.TimeWaitSeconds
	verb := "did not shorten"
	if tw < 0.9*timeWaitAssumed.Seconds() {
		verb = "shortened"
	}
	b := ""
	if base != nil && base.TimeWaitSeconds != nil {
		b = versus(base, fmt.Sprintf("%.1f s", *base.TimeWaitSeconds))
	}
	return fmt.Sprintf("%s %s TIME_WAIT: %.1f s measured%s", name, verb, tw, b)
}

func bucketsEffect(r, base *Run, name string) string {
	end := closingEnd(r)
	b := ""
	if base != nil {
		b = versus(base, commas(int64(closingPeak(base))))
	}
	return fmt.Sprintf("%s: TIME_WAIT peaked at %s on the %s%s and the kernel kept no TIME_WAIT for %s closes (TCPTimeWaitOverflow): "+
		"their 4-tuples lost TIME_WAIT's protection against old duplicate segments, so a new connection on one may take a stray segment of the old",
		name, commas(int64(closingPeak(r))), end, b, commas(overflow(r)))
}

func twReuseEffect(r, base *Run, name string) string {
	n := r.Errors["EADDRNOTAVAIL"]
	msg := fmt.Sprintf("%s: no EADDRNOTAVAIL in %s connections", name, commas(r.Connections))
	if n > 0 {
		msg = fmt.Sprintf("%s: %s EADDRNOTAVAIL in %s connections", name, commas(n), commas(r.Connections))
	}
	if base != nil {
		other := "tcp_tw_reuse=" + base.Scenario.NamespaceSettings["tw_reuse"]
		if len(base.Exhaustion) > 0 {
			msg += fmt.Sprintf(" where %s (%s) ran out after %s", other, base.Scenario.Name, commas(base.Exhaustion[0].ConnectionsBefore))
		} else {
			msg += fmt.Sprintf(" where %s (%s) had %s", other, base.Scenario.Name, commas(base.Errors["EADDRNOTAVAIL"]))
		}
	}
	if rec := r.KernelCounters["TWRecycled"]; rec > 0 {
		msg += fmt.Sprintf("; connect() took %s ports back from TIME_WAIT (TWRecycled)", commas(rec))
	}
	return msg
}

// remedyRows adds the table's rows of the remedies, the restarts and the
// SO_REUSEPORT listeners, when some run has them.
func remedyRows(runs []Run, add func(label string, cell func(*Run) string)) {
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Remedy != nil }) {
		add("remedy (against)", func(r *Run) string {
			if r.Remedy == nil {
				return "-"
			}
			return r.Remedy.Name + " (" + r.Remedy.Baseline + ")"
		})
	}
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Restart != nil }) {
		add("restart, bind", func(r *Run) string {
			switch rs := r.Restart; {
			case rs == nil:
				return "-"
			case rs.Error == "":
				return "bound in " + commasFloat(*rs.RebindMS, 1) + " ms"
			case rs.Bound:
				return fmt.Sprintf("%s (%s TIME_WAIT), bound after %s", rs.Error, commas(int64(rs.TimeWaitOnPort)), seconds(*rs.RebindMS/1000))
			default:
				return fmt.Sprintf("%s (%s TIME_WAIT), not bound", rs.Error, commas(int64(rs.TimeWaitOnPort)))
			}
		})
	}
	if slices.ContainsFunc(runs, func(r Run) bool { return r.ReusePort != nil }) {
		add("accepts per listener", func(r *Run) string {
			if r.ReusePort == nil {
				return "-"
			}
			parts := make([]string, len(r.ReusePort.Accepts))
			for i, n := range r.ReusePort.Accepts {
				parts[i] = commas(n)
			}
			return strings.Join(parts, ", ")
		})
	}
}

// remedyLines are the prose of a run's restart, listeners and remedy.
func remedyLines(r *Run) []string {
	var out []string
	if rs := r.Restart; rs != nil {
		what := "with SO_REUSEADDR"
		if !rs.ReuseAddr {
			what = "without SO_REUSEADDR"
		}
		line := fmt.Sprintf("the built-in target was stopped %s into the load (in %s ms, refusing connections meanwhile) and started again on its port %s: ",
			seconds(rs.AtS), commasFloat(rs.StopMS, 1), what)
		switch {
		case rs.Error == "":
			line += fmt.Sprintf("it bound at once (%s ms after the stop)", commasFloat(*rs.RebindMS, 1))
		default:
			line += "bind failed with " + rs.Error
			switch {
			case rs.Error == "EADDRINUSE" && rs.TimeWaitOnPort > 0:
				line += fmt.Sprintf(", blocked by %s TIME_WAIT sockets on the port", commas(int64(rs.TimeWaitOnPort)))
			case rs.TimeWaitOnPort >= 0:
				line += fmt.Sprintf(", with %s TIME_WAIT sockets on the port", commas(int64(rs.TimeWaitOnPort)))
			}
			if rs.Bound {
				line += fmt.Sprintf("; it bound %s after the stop, after %d tries", seconds(*rs.RebindMS/1000), rs.Attempts)
			} else {
				line += fmt.Sprintf("; %d tries until the load ended, none bound", rs.Attempts)
			}
		}
		out = append(out, line)
	}
	if m := r.Remedy; m != nil {
		out = append(out, m.Effect)
	}
	return out
}
