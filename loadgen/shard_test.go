package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Shard
		err  string
	}{
		{"0/3", Shard{0, 3}, ""},
		{"2/3", Shard{2, 3}, ""},
		{"3/3", Shard{0, 3}, ""}, // counting from 1: 3/3 is shard 0
		{" 1/3 ", Shard{1, 3}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"1/1", Shard{0, 1}, ""},
		{"4/3", Shard{}, "want I from 0 to 2 (or from 1 to 3)"},
		{"-1/3", Shard{}, "want I from 0 to 2"},
		{"0/0", Shard{}, "want 1 to 100000 shards"},
		{"0/100001", Shard{}, "want 1 to 100000 shards"},
		{"3", Shard{}, "want I/N"},
		{"a/3", Shard{}, "want I/N"},
		{"1/3/4", Shard{}, "want I/N"},
		{"", Shard{}, "want I/N"},
		{"$(JOB_COMPLETION_INDEX)/3", Shard{}, "want I/N"}, // a variable Kubernetes did not expand
	} {
		got, err := ParseShard(tc.text)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseShard(%q): %v", tc.text, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseShard(%q) = %v, %v; want an error with %q", tc.text, got, err, tc.err)
		case got != tc.want:
			t.Errorf("ParseShard(%q) = %v; want %v", tc.text, got, tc.want)
		}
	}
}

func TestShardShare(t *testing.T) {
	for _, tc := range []struct {
		n     int64
		count int
		want  []int64
	}{
		{64, 3, []int64{22, 21, 21}},
		{1000, 3, []int64{334, 333, 333}},
		{999, 3, []int64{333, 333, 333}},
		{2, 3, []int64{1, 1, 0}},
		{0, 3, []int64{0, 0, 0}},
		{7, 1, []int64{7}},
		{10, 4, []int64{3, 3, 2, 2}},
	} {
		var sum int64
		for i, want := range tc.want {
			s := Shard{i, tc.count}
			if got := s.Share(tc.n); got != want {
				t.Errorf("Shard{%d, %d}.Share(%d) = %d; want %d", i, tc.count, tc.n, got, want)
			}
			sum += s.Share(tc.n)
		}
		if sum != tc.n {
			t.Errorf("the %d shares of %d add up to %d", tc.count, tc.n, sum)
		}
	}
	// Every split of every count adds up.
	for count := 1; count <= 20; count++ {
		for n := int64(0); n <= 200; n++ {
			var sum int64
			for i := range count {
				sum += Shard{i, count}.Share(n)
			}
			if sum != n {
				t.Fatalf("the %d shares of %d add up to %d", count, n, sum)
			}
		}
	}
}

func TestShardOf(t *testing.T) {
	fleet := Config{Concurrency: 64, Rate: 1000, Duration: 10 * time.Second, Requests: 1000}
	for _, tc := range []struct {
		index       int
		concurrency int
		requests    int64
		offset      time.Duration
	}{
		{0, 22, 334, 0},
		{1, 21, 333, time.Millisecond},
		{2, 21, 333, 2 * time.Millisecond},
	} {
		got, problems := Shard{tc.index, 3}.Of(fleet)
		if len(problems) > 0 {
			t.Fatalf("shard %d/3 of 1,000/s and 64 connections: %v", tc.index, problems)
		}
		if got.Concurrency != tc.concurrency || got.Requests != tc.requests || got.Offset != tc.offset || got.Rate != 1000.0/3 {
			t.Errorf("shard %d/3 of 1,000/s, 64 connections, -n 1000: %d connections, %g/s from %v, %d requests; want %d, %g/s from %v, %d",
				tc.index, got.Concurrency, got.Rate, got.Offset, got.Requests, tc.concurrency, 1000.0/3, tc.offset, tc.requests)
		}
	}
	if got, _ := (Shard{}).Of(fleet); got.Concurrency != 64 || got.Rate != 1000 || got.Requests != 1000 || got.Offset != 0 {
		t.Errorf("no shard: %+v; want the whole workload", got)
	}
}

// The shards' schedules, put together, are the fleet's: every send once,
// at its time.
func TestShardSchedulesMakeTheFleets(t *testing.T) {
	for _, fleet := range []Config{
		{Concurrency: 64, Rate: 1000, Duration: time.Second},
		{Concurrency: 64, Rate: 7, Duration: 10 * time.Second},
		{Concurrency: 64, Rate: 4000, Duration: 250 * time.Millisecond, Requests: 999},
	} {
		for _, count := range []int{1, 2, 3, 7} {
			due := map[time.Duration]int{}
			var total int64
			for i := range count {
				c, problems := Shard{i, count}.Of(fleet)
				if len(problems) > 0 {
					t.Fatalf("%g/s for %v in %d shards: %v", fleet.Rate, fleet.Duration, count, problems)
				}
				n := c.sends()
				total += n
				for k := range n {
					due[c.due(k).Round(time.Microsecond)]++
				}
			}
			want := fleet.sends()
			if total != want {
				t.Errorf("%g/s for %v, -n %d, in %d shards: %d sends; want the fleet's %d", fleet.Rate, fleet.Duration, fleet.Requests, count, total, want)
			}
			for k := range want {
				if at := fleet.due(k).Round(time.Microsecond); due[at] != 1 {
					t.Errorf("%g/s in %d shards: the fleet's send %d, due at %v, is sent %d times", fleet.Rate, count, k, at, due[at])
					break
				}
			}
		}
	}
}

func TestShardOfRefusesAnEmptyShare(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		shard Shard
		field string
		want  string
	}{
		{Config{Concurrency: 64, Duration: time.Second}, Shard{64, 100}, FieldConcurrency,
			"64 connections leave shard 64/100 none: give at most 64 shards"},
		{Config{Concurrency: 64, Requests: 2}, Shard{2, 3}, FieldRequests,
			"2 requests leave shard 2/3 none: give at most 2 shards"},
		{Config{Concurrency: 64, Rate: 1, Duration: 2 * time.Second}, Shard{2, 3}, FieldRate,
			"1/s for 2s is 2 sends, which leave shard 2/3 none: give at most 2 shards"},
	} {
		_, problems := tc.shard.Of(tc.cfg)
		if len(problems) != 1 || problems[0].Field != tc.field || !strings.Contains(problems[0].Error(), tc.want) {
			t.Errorf("shard %v of %+v: %v; want one problem of %s saying %q", tc.shard, tc.cfg, problems, tc.field, tc.want)
		}
	}
}

func TestOffsetIsOpenLoopOnly(t *testing.T) {
	c := Config{Protocol: HTTP11, Closer: CloserClient, Target: "http://127.0.0.1:1/", Concurrency: 1,
		Duration: time.Second, Timeout: time.Second, Offset: time.Millisecond}
	ps := c.Problems()
	if len(ps) != 1 || ps[0].Field != FieldOffset {
		t.Errorf("an offset in closed loop: %v; want one problem of %s", ps, FieldOffset)
	}
}
