// Package report turns a run's load results and socket samples into the
// figures twbench exists for (which end held the TIME_WAIT, how many new
// TIME_WAIT sockets each request left, what each request costs in client
// ports and where that puts the ceiling on new connections per second) and
// writes them in the formats Formats lists: a text table of the scenarios
// side by side that fits a terminal of 120 columns, JSON
// (twbench.report/v1, described by docs/report.schema.json), CSV, one HTML
// file with charts drawn here as SVG, or JUnit XML for CI. It also checks
// a run against expectations, expressions over those figures, and
// compares two reports' runs.
package report
