// Package twbench holds the default scenario catalogue, embedded in the
// binary so that `twbench run` needs no file. The command is in
// cmd/twbench; the work is done by the packages scenario, harness, loadgen,
// target, sockstat, agent and report.
package twbench
