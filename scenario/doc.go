// Package scenario defines what twbench runs: the Scenario type, its
// defaults and validation, and the strict YAML decoding of a scenario
// catalogue, whose every error names file:line.
package scenario
