// Package harness runs one scenario end to end and returns its report.Run:
// it starts the built-in target when the scenario names none, samples the
// socket states of both ends (here with sockstat, and the server end from a
// remote twbench agent when one is given), takes a baseline before the
// first connection, drives the load, follows the last connections through
// their closing states for a short tail, and hands report.Build the
// samples joined to the load's progress when each was taken.
//
// Measure takes these steps in order; each is a method a test can call on
// its own. Every goroutine a step starts has ended when Measure returns.
//
// The harness prints nothing and decides no exit code: it tells an
// Observer what it is doing, and the command draws its status line and
// progress bar from that.
package harness
