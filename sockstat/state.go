package sockstat

// State is a TCP state as the kernel numbers it (include/net/tcp_states.h).
type State uint8

// The kernel's TCP states. LISTEN is never counted: a sample is about
// connections, and a listener is not one.
const (
	Established State = 1
	SynSent     State = 2
	SynRecv     State = 3
	FinWait1    State = 4
	FinWait2    State = 5
	TimeWait    State = 6
	Close       State = 7
	CloseWait   State = 8
	LastAck     State = 9
	Listen      State = 10
	Closing     State = 11

	numStates = 12
)

// String returns the state's name as reports print it: upper case with
// underscores, as in the kernel's source.
func (s State) String() string {
	switch s {
	case Established:
		return "ESTABLISHED"
	case SynSent:
		return "SYN_SENT"
	case SynRecv:
		return "SYN_RECV"
	case FinWait1:
		return "FIN_WAIT1"
	case FinWait2:
		return "FIN_WAIT2"
	case TimeWait:
		return "TIME_WAIT"
	case Close:
		return "CLOSE"
	case CloseWait:
		return "CLOSE_WAIT"
	case LastAck:
		return "LAST_ACK"
	case Listen:
		return "LISTEN"
	case Closing:
		return "CLOSING"
	}
	return "UNKNOWN"
}

// ConnStates are the states a sample counts, in the order reports print them.
// The function returns a new array each time, so callers cannot change it.
func ConnStates() [10]State {
	return [10]State{TimeWait, Established, SynSent, SynRecv, FinWait1, FinWait2, Closing, CloseWait, LastAck, Close}
}

// ParseState returns the state named name (as String prints it).
func ParseState(name string) (State, bool) {
	for _, s := range ConnStates() {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// Counts holds the number of sockets in each state, indexed by State.
type Counts [numStates]uint32

// Total returns the number of sockets counted in every state.
func (c *Counts) Total() int {
	n := 0
	for _, v := range c {
		n += int(v)
	}
	return n
}

// connStateMask selects every state but LISTEN. The kernel adds
// TCP_NEW_SYN_RECV (request sockets) itself when SYN_RECV is asked for.
const connStateMask = uint32(1<<numStates-1) &^ (1 << Listen) &^ 1
