package report

import (
	"encoding/json"
	"fmt"
	"time"
)

// ShardInfo says which shard of a fleet wrote a report, and where.
type ShardInfo struct {
	// Index is the shard's number, from 0, of Count.
	Index int `json:"index"`
	Count int `json:"count"`
	// Hostname is the host's name (a pod's name in Kubernetes).
	Hostname string `json:"hostname"`
	// Netns names the network namespace the shard ran in, uniquely across
	// hosts (sockstat.NetNamespace); empty where it is not known. Shards
	// in one namespace sampled the same sockets.
	Netns string `json:"netns,omitempty"`
}

// RunShard is a shard's part of its fleet's scenario: what merge needs
// that the shard's own figures do not say.
type RunShard struct {
	// Concurrency, Rate and Requests are the fleet's: the run's scenario
	// holds the shard's share of them.
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	Requests    int64   `json:"requests"`
	// Sources are the addresses the shard's connections came from: the
	// scenario's source addresses, or the one the kernel picks for the
	// target. Each distinct address has its own ephemeral ports.
	Sources []string `json:"sources"`
	// Expect holds the expectations the shard did not check: they are the
	// fleet's, checked by merge on the merged figures.
	Expect []Deferred `json:"expect"`
}

// Deferred is an expectation left for merge to check.
type Deferred struct {
	Expr   string `json:"expr"`
	Source string `json:"source,omitempty"`
}

// Fleet lists the shards a merged report was merged from.
type Fleet struct {
	// Count is the number of shards in the fleet, N; Missing the indexes
	// of those not merged (merge --partial).
	Count   int          `json:"count"`
	Shards  []FleetShard `json:"shards"`
	Missing []int        `json:"missing,omitempty"`
}

// FleetShard is one shard of a merged report: where it came from and
// where it ran.
type FleetShard struct {
	Index int `json:"index"`
	// Input is where merge read it: FILE, or FILE:LINE when the input held
	// several reports ("-" for stdin).
	Input    string `json:"input"`
	Hostname string `json:"hostname"`
	Netns    string `json:"netns,omitempty"`
	Version  string `json:"twbench_version,omitempty"`
	// Host is the shard's host object as it wrote it.
	Host json.RawMessage `json:"host"`
	// Unmerged holds the keys of the shard's report this version of
	// twbench does not know, as written.
	Unmerged map[string]json.RawMessage `json:"unmerged,omitempty"`
}

// RunFleet says how a merged run was put together.
type RunFleet struct {
	// Sources are the fleet's distinct source addresses, which ports
	// counts.
	Sources []string `json:"sources"`
	// StartSpreadMS is the time between the first shard's load start and
	// the last's.
	StartSpreadMS float64 `json:"start_spread_ms"`
	// ClientEnds and ServerEnds are the distinct sets of sockets the
	// shards sampled: shards that sampled the same sockets (one network
	// namespace, one target; or one agent) count once.
	ClientEnds []EndGroup `json:"client_ends"`
	ServerEnds []EndGroup `json:"server_ends"`
	// Unmerged names the keys of the shards' runs that are not merged:
	// those this version of twbench does not know, and those it keeps per
	// shard (keptPerShard); each shard's value is in its run below.
	Unmerged []string `json:"unmerged,omitempty"`
	// Shards holds each shard's run as it wrote it.
	Shards []ShardRun `json:"shards"`
}

// EndGroup is one set of sockets that one or more shards sampled.
type EndGroup struct {
	Where  string `json:"where"`
	Shards []int  `json:"shards"`
}

// ShardRun is one shard's run, as the shard wrote it.
type ShardRun struct {
	Index int             `json:"index"`
	Run   json.RawMessage `json:"run"`
}

// LateStart is how late a load may start after the instant it was to
// start at before its report says so in a note.
const LateStart = 50 * time.Millisecond

// startNote records when the load was to start and how late it started.
func startNote(r *Run, at, started time.Time) {
	if at.IsZero() {
		return
	}
	late := started.Sub(at)
	ms := round(float64(late)/1e6, 3)
	r.StartAt, r.StartLateMS = at.UTC().Format(time.RFC3339Nano), &ms
	if late > LateStart {
		r.Notes = append(r.Notes, fmt.Sprintf(
			"the load started %s late, after %s, the instant it was to start at: its series and per-second counts are that much behind those of loads that started on time",
			seconds(late.Seconds()), r.StartAt))
	}
}
