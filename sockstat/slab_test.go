package sockstat

import (
	"errors"
	"strings"
	"testing"
)

const slabinfo = `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
tw_sock_TCPv6         64     64    256   16    1 : tunables    0    0    0 : slabdata      4      4      0
tw_sock_TCP        18846  24288    248   16    1 : tunables    0    0    0 : slabdata   1518   1518      0
TCP                  912    912   2368   13    8 : tunables    0    0    0 : slabdata     72     72      0
`

func TestParseSlabinfo(t *testing.T) {
	for _, tc := range []struct {
		name, text, slab string
		want             Slab
		wantErr          string
	}{
		{name: "tw_sock_TCP", text: slabinfo, slab: TimeWaitSlab,
			want: Slab{Name: TimeWaitSlab, ActiveObjects: 18846, Objects: 24288, ObjectBytes: 248}},
		{name: "not its v6 sibling", text: slabinfo, slab: "tw_sock_TCPv6",
			want: Slab{Name: "tw_sock_TCPv6", ActiveObjects: 64, Objects: 64, ObjectBytes: 256}},
		{name: "version 2.0", text: strings.Replace(slabinfo, "2.1", "2.0", 1), slab: "TCP",
			want: Slab{Name: "TCP", ActiveObjects: 912, Objects: 912, ObjectBytes: 2368}},
		{name: "absent", text: slabinfo, slab: "tw_sock_SCTP", wantErr: "tw_sock_SCTP: no such slab cache"},
		{name: "empty", text: "", slab: TimeWaitSlab, wantErr: "slabinfo is empty"},
		{name: "version 1.1", text: "slabinfo - version: 1.1\ntw_sock_TCP 1 1 256\n", slab: TimeWaitSlab,
			wantErr: `slabinfo begins "slabinfo - version: 1.1": want version 2.x`},
		{name: "not slabinfo", text: "MemTotal: 1 kB\n", slab: TimeWaitSlab, wantErr: "want version 2.x"},
		{name: "short line", text: "slabinfo - version: 2.1\ntw_sock_TCP 1 1\n", slab: TimeWaitSlab,
			wantErr: "line 2: 3 fields: want at least 4"},
		{name: "a size that is not a number", text: "slabinfo - version: 2.1\ntw_sock_TCP 1 1 0.25K 16\n", slab: TimeWaitSlab,
			wantErr: `line 2: field 4 is "0.25K": want a count`},
		{name: "a negative count", text: "slabinfo - version: 2.1\ntw_sock_TCP -1 1 256 16\n", slab: TimeWaitSlab,
			wantErr: `field 2 is "-1"`},
		{name: "objects of no size", text: "slabinfo - version: 2.1\ntw_sock_TCP 1 1 0 16\n", slab: TimeWaitSlab,
			wantErr: "objects of 0 bytes"},
		{name: "a name that only begins the same", text: "slabinfo - version: 2.1\ntw_sock_TCPx 1 1 99 1\n", slab: TimeWaitSlab,
			wantErr: "no such slab cache"},
	} {
		got, err := ParseSlabinfo(strings.NewReader(tc.text), tc.slab)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: ParseSlabinfo(%q) = %+v, %v; want an error with %q", tc.name, tc.slab, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s: ParseSlabinfo(%q) = %+v, %v; want %+v", tc.name, tc.slab, got, err, tc.want)
		}
	}
	if _, err := ParseSlabinfo(strings.NewReader(slabinfo), "absent"); !errors.Is(err, ErrNoSlab) {
		t.Errorf("ParseSlabinfo of an absent slab = %v; want an error wrapping ErrNoSlab", err)
	}
}

// The fallback says which size it used and why; what the host gives is
// not checked here, only that it is one or the other.
func TestReadTimeWaitObject(t *testing.T) {
	o := ReadTimeWaitObject()
	switch o.From {
	case SizeFromSlabinfo:
		if o.Bytes <= 0 || o.Reason != "" {
			t.Errorf("ReadTimeWaitObject() = %+v; want a size and no reason", o)
		}
	case SizeAssumed:
		if o.Bytes != TimeWaitObjectBytes || o.Reason == "" {
			t.Errorf("ReadTimeWaitObject() = %+v; want %d bytes and why", o, TimeWaitObjectBytes)
		}
	default:
		t.Errorf("ReadTimeWaitObject().From = %q; want %q or %q", o.From, SizeFromSlabinfo, SizeAssumed)
	}
}
