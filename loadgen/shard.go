package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count load generators that share one workload, as the
// pods of a Kubernetes Indexed Job do. Shards are numbered from 0, like
// JOB_COMPLETION_INDEX; the zero Shard is no shard (the whole workload).
type Shard struct{ Index, Count int }

// MaxShards bounds Count: each shard needs a connection of its own.
const MaxShards = MaxConcurrency

// IsZero reports whether s is no shard.
func (s Shard) IsZero() bool { return s == Shard{} }

// String writes "I/N", I from 0.
func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// ParseShard parses "I/N": shard I of N, I from 0 to N-1 as Kubernetes
// numbers the pods of an Indexed Job. I = N is read as shard 0, so that
// counting from 1 (1/3, 2/3, 3/3) names the same N shards.
func ParseShard(text string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(text), "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%q: want I/N, shard I of N, such as 0/3", text)
	}
	if count < 1 || count > MaxShards {
		return Shard{}, fmt.Errorf("%q: want 1 to %d shards", text, MaxShards)
	}
	if index < 0 || index > count {
		return Shard{}, fmt.Errorf("%q: want I from 0 to %d (or from 1 to %d)", text, count-1, count)
	}
	return Shard{Index: index % count, Count: count}, nil
}

// Share returns the shard's part of n things dealt out in turn, as k6's
// execution segments deal iterations: shard I takes items I, I+N, I+2N...
// of 0..n-1. The shares of the N shards add up to n exactly, and differ by
// at most one, the first shards taking the larger.
func (s Shard) Share(n int64) int64 {
	if s.Count <= 1 {
		return n
	}
	if n <= int64(s.Index) {
		return 0
	}
	return (n-int64(s.Index)-1)/int64(s.Count) + 1
}

// Of returns the shard's part of the workload c: its share of the
// connections and of the request count, and in open loop every N-th send
// of c's schedule from the I-th on (a rate of Rate/N, offset by I/Rate,
// and as requests its share of c's sends), so that the N shards, started at
// one instant, send on c's schedule together. A shard whose part would be
// nothing (more shards than connections, requests or sends) is a problem of
// the field that ran out.
func (s Shard) Of(c Config) (Config, []FieldError) {
	if s.Count <= 1 {
		return c, nil
	}
	var p problems
	out := c
	out.Concurrency = int(s.Share(int64(c.Concurrency)))
	if out.Concurrency == 0 {
		p.add(FieldConcurrency, "%d connections leave shard %s none: give at most %d shards, or more connections",
			c.Concurrency, s, c.Concurrency)
	}
	if c.Requests > 0 {
		if out.Requests = s.Share(c.Requests); out.Requests == 0 {
			p.add(FieldRequests, "%d requests leave shard %s none: give at most %d shards, or more requests",
				c.Requests, s, c.Requests)
		}
	}
	if c.Rate > 0 && len(p) == 0 {
		out.Rate = c.Rate / float64(s.Count)
		out.Offset = c.Offset + dueAt(c.Rate, int64(s.Index))
		// The shard's sends are counted from the fleet's schedule, not
		// from its own: Rate/N is rounded, and at the end of the duration
		// its last send could fall on either side.
		sends := c.sends()
		if out.Requests = s.Share(sends); out.Requests == 0 {
			p.add(FieldRate, "%g/s for %v is %d sends, which leave shard %s none: give at most %d shards, a higher rate or a longer duration",
				c.Rate, c.Duration, sends, s, sends)
		}
	}
	return out, p
}
