package sockstat

import "testing"

func TestStateNames(t *testing.T) {
	for _, tc := range []struct {
		s    State
		want string
	}{
		{Established, "ESTABLISHED"}, {SynSent, "SYN_SENT"}, {SynRecv, "SYN_RECV"},
		{FinWait1, "FIN_WAIT1"}, {FinWait2, "FIN_WAIT2"}, {TimeWait, "TIME_WAIT"},
		{Close, "CLOSE"}, {CloseWait, "CLOSE_WAIT"}, {LastAck, "LAST_ACK"},
		{Listen, "LISTEN"}, {Closing, "CLOSING"}, {0, "UNKNOWN"}, {12, "UNKNOWN"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("State(%d).String() = %q; want %q", uint8(tc.s), got, tc.want)
		}
	}
}

func TestParseState(t *testing.T) {
	states := ConnStates()
	if states[0] != TimeWait {
		t.Errorf("ConnStates()[0] = %v; want TIME_WAIT first", states[0])
	}
	seen := map[State]bool{}
	for _, s := range states {
		if s == Listen || seen[s] {
			t.Errorf("ConnStates() = %v; want every state but LISTEN once", states)
		}
		seen[s] = true
		if got, ok := ParseState(s.String()); got != s || !ok {
			t.Errorf("ParseState(%q) = %v, %v; want %v, true", s.String(), got, ok, s)
		}
	}
	for _, name := range []string{"LISTEN", "UNKNOWN", "time_wait", "TIME-WAIT", ""} {
		if got, ok := ParseState(name); ok {
			t.Errorf("ParseState(%q) = %v, true; want false", name, got)
		}
	}
}

func TestCountsTotal(t *testing.T) {
	var c Counts
	if got := c.Total(); got != 0 {
		t.Errorf("Counts{}.Total() = %d; want 0", got)
	}
	c[TimeWait], c[Established], c[Closing] = 3, 4, 1<<20
	if got, want := c.Total(), 7+1<<20; got != want {
		t.Errorf("Total() of %v = %d; want %d", c, got, want)
	}
}
