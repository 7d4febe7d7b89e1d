package report

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// fleetNotes say how the fleet's figures were made from the shards'.
func fleetNotes(m *Run, parts []*part, t0 time.Time) []string {
	hosts := map[string]bool{}
	versions := map[string]bool{}
	var end time.Time
	for _, p := range parts {
		hosts[p.s.Report.Shard.Hostname] = true
		versions[p.s.Report.Version] = true
		end = maxTime(end, p.end)
	}
	count := parts[0].s.Report.Shard.Count
	word := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	notes := []string{fmt.Sprintf(
		"fleet: %d of %d shards on %s, from %s (%s): requests, connections, errors and closes are the shards' sums, latency is the merged histograms', qps is over the %.2f s in which a shard's load ran, and usable ports and ceilings are the fleet's, every source address's ports together",
		len(parts), count, word(len(hosts), "host", "hosts"), word(len(m.Fleet.Sources), "source address", "source addresses"),
		strings.Join(m.Fleet.Sources, ", "), m.DurationS)}
	if len(parts) < count {
		notes = append(notes, fmt.Sprintf("fleet: only %d of the %d shards were merged: the figures are theirs, not the fleet's", len(parts), count))
	}
	if spread := time.Duration(m.Fleet.StartSpreadMS * 1e6); spread > LateStart {
		notes = append(notes, fmt.Sprintf("fleet: the shards' loads started %s apart: the series are summed by time, the per-second counts second by second of each shard's load", seconds(spread.Seconds())))
	}
	if span := end.Sub(t0).Seconds(); span > m.DurationS+0.001 {
		notes = append(notes, fmt.Sprintf("fleet: the shards' loads did not all overlap: qps is over the %.2f s in which one ran, not the %.2f s from the first start to the last end", m.DurationS, span))
	}
	if m.BuiltinTarget {
		var targets []string
		for _, p := range parts {
			if !slices.Contains(targets, p.run.Target) {
				targets = append(targets, p.run.Target)
			}
		}
		if len(targets) > 1 {
			notes = append(notes, fmt.Sprintf("fleet: each shard ran its own built-in target (%s), each its own server end", shortList(targets, 8)))
		}
	}
	if len(versions) > 1 {
		var vs []string
		for v := range versions {
			vs = append(vs, v)
		}
		slices.Sort(vs)
		notes = append(notes, "fleet: the shards ran different builds of twbench: "+strings.Join(vs, ", "))
	}
	var unknown []string
	for _, p := range parts {
		for _, k := range unknownKeys(p.raw, runType, "runs[]") {
			if !slices.Contains(unknown, k) {
				unknown = append(unknown, k)
			}
		}
	}
	for _, p := range parts {
		for _, k := range p.s.unknown {
			if !strings.HasPrefix(k, "runs[]") && !slices.Contains(unknown, k) {
				unknown = append(unknown, k)
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		for _, k := range unknown {
			if strings.HasPrefix(k, "runs[]") {
				m.Fleet.Unmerged = append(m.Fleet.Unmerged, k)
			}
		}
		notes = append(notes, "fleet: keys this version of twbench does not know are not merged but kept as each shard wrote them (runs[].fleet.shards[].run, fleet.shards[]): "+strings.Join(unknown, ", "))
	}
	var kept []string
	for _, k := range keptPerShard() {
		if slices.ContainsFunc(parts, func(p *part) bool { return hasKey(p.raw, k) }) {
			kept = append(kept, k)
			m.Fleet.Unmerged = append(m.Fleet.Unmerged, k)
		}
	}
	if len(kept) > 0 {
		notes = append(notes, "fleet: kept as each shard wrote them (runs[].fleet.shards[].run), not merged: "+strings.Join(kept, ", ")+
			": a --watch endpoint's ends, the addresses holding an end's TIME_WAIT, the built-in target's restart and listeners and a remedy's effect are each shard's own")
	}
	for _, p := range parts {
		m.Fleet.Shards = append(m.Fleet.Shards, ShardRun{Index: p.s.index, Run: p.raw})
	}
	return notes
}

// keptPerShard lists the keys of a run that merge knows but does not
// combine across shards; a merged run leaves them out, and each shard's
// run keeps its own.
func keptPerShard() []string {
	return []string{"runs[].watched",
		"runs[].client.time_wait_holders", "runs[].client.time_wait_memory",
		"runs[].server.time_wait_holders", "runs[].server.time_wait_memory",
		"runs[].restart", "runs[].reuseport", "runs[].remedy"}
}

// hasKey reports whether the run raw has the key at path ("runs[].a.b"),
// not null.
func hasKey(raw json.RawMessage, path string) bool {
	for _, k := range strings.Split(strings.TrimPrefix(path, "runs[]."), ".") {
		if raw = rawKey(raw, k); len(raw) == 0 || string(raw) == "null" {
			return false
		}
	}
	return true
}

// shardNotes gives each distinct note of the shards once, with the shards
// that made it; not the shards' word that merge checks their
// expectations, which it now has.
func shardNotes(parts []*part) []string {
	var order []string
	by := map[string][]int{}
	for _, p := range parts {
		for _, n := range p.run.Notes {
			if strings.Contains(n, "twbench merge checks them") {
				continue
			}
			if _, seen := by[n]; !seen {
				order = append(order, n)
			}
			by[n] = append(by[n], p.s.index)
		}
	}
	out := make([]string, len(order))
	for i, n := range order {
		out[i] = shardList(by[n]) + ": " + n
	}
	return out
}

// The types merge reads reports into, for unknownKeys.
var (
	reportType = reflect.TypeFor[Report]()
	runType    = reflect.TypeFor[Run]()
)

// unknownKeys returns the keys of raw, written for type t, that t does
// not know, as paths from path ("runs[].watch"): keys a later version of
// twbench wrote, which decoding raw into t would drop. A type that decodes
// itself (a series point) is taken to know its keys.
func unknownKeys(raw json.RawMessage, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil
	}
	var out []string
	add := func(keys []string) {
		for _, k := range keys {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, k := range sortedKeys(m) {
			f, ok := jsonField(t, k)
			if !ok {
				out = append(out, join(path, k))
				continue
			}
			add(unknownKeys(m[k], f.Type, join(path, k)))
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, k := range sortedKeys(m) {
			add(unknownKeys(m[k], t.Elem(), join(path, k)))
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for _, it := range items {
			add(unknownKeys(it, t.Elem(), path+"[]"))
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonField returns the field of struct t that the JSON key names, as
// encoding/json matches them.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" && f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if inner, ok := jsonField(ft, key); ok {
					return inner, true
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
