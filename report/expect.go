package report

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Check is a compiled expectation: a boolean expression over one run's
// figures, named as in the JSON report (client.peak.TIME_WAIT,
// server.time_wait_per_request, qps, errors.EADDRNOTAVAIL, latency_us.p99).
type Check struct {
	Expr string
	// Source is where the expression was written: file:line, or a flag.
	Source  string
	prog    *vm.Program
	figures []string
}

// MaxExprLen bounds the text of an expectation: the longest in the
// catalogue is under 100 bytes.
const MaxExprLen = 1000

// figureEnv returns the types of the figures an expectation can name.
// They are worked out once (it takes about a millisecond: a 50,000-scenario
// catalogue's expectations took 90 s to compile before) and only read after.
var figureEnv = sync.OnceValue(figureTypes)

// ShortExpr returns an expression quoted for a message, cut to 60
// characters.
func ShortExpr(text string) string {
	const most = 60
	if r := []rune(text); len(r) > most {
		return strconv.Quote(string(r[:most])) + "…"
	}
	return strconv.Quote(text)
}

// CompileCheck compiles an expectation. Names are checked against the
// report's figures, so a misspelt one is an error here and not a silent
// false after the load; the message is one line, with the column.
func CompileCheck(text, source string) (*Check, error) {
	return new(Compiler).Compile(text, source)
}

// Compiler compiles expectations, each distinct text once: a catalogue
// repeats its expressions from scenario to scenario, and each compile
// costs about 50 µs.
type Compiler struct {
	progs map[string]*Check
}

// Compile compiles an expectation written at source, as CompileCheck.
func (c *Compiler) Compile(text, source string) (*Check, error) {
	if done, ok := c.progs[text]; ok {
		check := *done
		check.Source = source
		return &check, nil
	}
	check, err := compileOver(figureEnv(), text, source)
	if err != nil {
		return nil, err
	}
	if c.progs == nil {
		c.progs = map[string]*Check{}
	}
	c.progs[text] = check
	return check, nil
}

// compileOver compiles an expectation over the figures whose names and
// types env gives: a run's, or a plan's.
func compileOver(env types.Map, text, source string) (*Check, error) {
	if len(text) > MaxExprLen {
		return nil, fmt.Errorf("an expression of %d bytes: at most %d", len(text), MaxExprLen)
	}
	tree, err := expr.Compile(text, expr.Env(env), expr.AsBool())
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s (column %d)", fe.Message, fe.Column+1)
		}
		return nil, err
	}
	return &Check{Expr: text, Source: source, prog: tree, figures: figuresIn(tree.Node())}, nil
}

// Eval checks the expectation against a run. The figures it names are
// kept with their values, so that a failure can say what they were. An
// expression that cannot be evaluated (a figure that is null in this run,
// such as a ceiling a keep-alive pool does not have) fails.
func (c *Check) Eval(r *Run) Expectation {
	env, err := figureValues(r)
	if err != nil {
		return Expectation{Expr: c.Expr, Source: c.Source, Values: map[string]any{}, Error: err.Error()}
	}
	return c.evalOver(env, "not measured in this run (see its notes)")
}

// evalOver checks the expectation against figures; null says why a
// figure can be null.
func (c *Check) evalOver(env map[string]any, null string) Expectation {
	e := Expectation{Expr: c.Expr, Source: c.Source, Values: map[string]any{}}
	for _, f := range c.figures {
		if v, ok := lookup(env, f); ok {
			e.Values[f] = v
		}
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		e.Error = evalError(err, e.Values, null)
		return e
	}
	e.OK, _ = out.(bool)
	if !e.OK {
		// A comparison with a null (nil == 0) is false, not an error: say
		// why all the same.
		if msg := nullFigures(e.Values, null); msg != "" {
			e.Error = msg
		}
	}
	return e
}

// nullFigures names the figures among values that are null, and says why
// they can be.
func nullFigures(values map[string]any, why string) string {
	var null []string
	for _, f := range slices.Sorted(maps.Keys(values)) {
		if values[f] == nil {
			null = append(null, f)
		}
	}
	if len(null) == 0 {
		return ""
	}
	return strings.Join(null, ", ") + " null: " + why
}

// evalError says why an expression could not be evaluated: a figure that
// is null in this run (a ceiling without connections, a ratio a short run
// cannot give), or else the first line of expr's message, without its
// drawing of the expression.
func evalError(err error, values map[string]any, null string) string {
	if msg := nullFigures(values, null); msg != "" {
		return msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if strings.Contains(msg, "index out of range") {
		return "a list has no such item in this run (" + msg + ")"
	}
	return msg
}

// Describe says what an expectation found: its expression, and the
// values of the figures it names, or why it could not be evaluated.
func (e *Expectation) Describe() string {
	var vals []string
	for _, f := range slices.Sorted(maps.Keys(e.Values)) {
		vals = append(vals, f+" = "+formatValue(e.Values[f]))
	}
	s := e.Expr
	if len(vals) > 0 {
		s += " (" + strings.Join(vals, ", ") + ")"
	}
	if e.Error != "" {
		s += ": " + e.Error
	}
	return s
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(round(v, 4), 'f', -1, 64)
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

// figuresIn returns the figures an expression names, as dotted paths
// (the longest ones: client.peak.TIME_WAIT, not client).
func figuresIn(root ast.Node) []string {
	v := &figureVisitor{}
	ast.Walk(&root, v)
	var out []string
	for _, p := range v.paths {
		longer := slices.ContainsFunc(v.paths, func(q string) bool {
			return strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[")
		})
		if !longer && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

type figureVisitor struct{ paths []string }

func (v *figureVisitor) Visit(n *ast.Node) {
	if p, ok := path(*n); ok {
		v.paths = append(v.paths, p)
	}
}

// path returns the dotted path of a chain of constant member accesses
// and list indexes from a variable: exhaustion[0].ratio.
func path(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value, true
	case *ast.MemberNode:
		base, ok := path(n.Node)
		if !ok {
			return "", false
		}
		switch prop := n.Property.(type) {
		case *ast.StringNode:
			return base + "." + prop.Value, true
		case *ast.IntegerNode:
			return base + "[" + strconv.Itoa(prop.Value) + "]", true
		}
	}
	return "", false
}

func lookup(env map[string]any, dotted string) (any, bool) {
	var cur any = env
	for _, k := range strings.Split(dotted, ".") {
		k, index, _ := strings.Cut(k, "[")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
		for index != "" {
			var i string
			i, index, _ = strings.Cut(index, "]")
			index = strings.TrimPrefix(index, "[")
			n, err := strconv.Atoi(i)
			list, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(list) {
				return nil, false
			}
			cur = list[n]
		}
	}
	switch cur.(type) {
	case map[string]any, []any:
		return nil, false
	}
	return cur, true
}
