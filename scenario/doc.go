// Package scenario defines what twbench runs: the Scenario type, its
// defaults and validation, and the strict YAML decoding of a scenario
// catalogue, whose every error names file:line. A scenario's expectations
// are kept as written, with their lines; package report compiles them.
package scenario
