package scenario

import (
	"time"

	"github.com/twbench/twbench/loadgen"
)

// TakeShare makes s shard sh's part of the scenario a fleet of shards
// runs: its concurrency, rate and request count become the shard's
// (loadgen.Shard.Of, which deals them out), and it returns the offset of
// the shard's sends in the fleet's open-loop schedule. On problems (a share
// of nothing) s is left as it was. s must be valid.
func (s *Scenario) TakeShare(sh loadgen.Shard) (time.Duration, []FieldError) {
	cfg, problems := sh.Of(s.workload())
	if len(problems) > 0 {
		return 0, problems
	}
	s.Concurrency, s.Rate, s.Requests = cfg.Concurrency, cfg.Rate, cfg.Requests
	return cfg.Offset, nil
}
