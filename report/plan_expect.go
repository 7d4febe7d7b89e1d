package report

import (
	"sync"

	"github.com/expr-lang/expr/types"
)

// PlanCheck is an expectation over one plan's figures, named as in the
// plan's JSON (ports.share, client.time_wait_held, needed.sources). It is
// compiled and evaluated by the machinery of a run's expectations, over a
// plan's figures instead.
type PlanCheck struct{ check *Check }

// planEnv is the types of a plan's figures, worked out once.
var planEnv = sync.OnceValue(func() types.Map { return typeOf(planPrototype(), "").(types.Map) })

// planNull says why a plan's figure can be null.
const planNull = "does not apply to this plan (docs/plan.md says when a figure is null)"

// CompilePlanCheck compiles an expectation over a plan's figures; a name
// no plan has is an error here, in one line.
func CompilePlanCheck(text, source string) (*PlanCheck, error) {
	c, err := compileOver(planEnv(), text, source)
	if err != nil {
		return nil, err
	}
	return &PlanCheck{c}, nil
}

// Eval checks the expectation against a plan, keeping the values of the
// figures it names.
func (c *PlanCheck) Eval(p *Plan) Expectation {
	m, err := toMap(p)
	if err != nil {
		return Expectation{Expr: c.check.Expr, Source: c.check.Source, Values: map[string]any{}, Error: err.Error()}
	}
	fillZero(m, planPrototype())
	return c.check.evalOver(m, planNull)
}

// planPrototype returns a plan's JSON with every figure present, those
// that can be null or absent given a value, so that each is a name.
func planPrototype() map[string]any {
	zero, one := 0.0, 1
	p := Plan{Workload: Workload{Scenario: "-", ClientPortRange: "-"}, Advice: "-"}
	for _, e := range []*PlanEnd{&p.Client, &p.Server} {
		e.HeldBy, e.TWBucketsShare = "-", &zero
	}
	for _, c := range []*Ceilings{&p.Ports.MaxSustainableQPS, &p.Ports.PerPair} {
		c.Loopback, c.Network = &zero, &zero
	}
	p.Ports.ExhaustedAfterS = &zero
	p.Needed.Sources, p.Needed.Destinations = &one, &one
	m, err := toMap(&p)
	if err != nil {
		panic("report: the prototype plan does not encode: " + err.Error())
	}
	delete(m, "expectations")
	return m
}
