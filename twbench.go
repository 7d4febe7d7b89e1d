// Package twbench holds the default scenario catalogue, embedded in the
// binary so that `twbench run` needs no file. The command is in
// cmd/twbench; the work is done by the packages scenario, loadgen, target,
// sockstat and report.
package twbench

import _ "embed"

// DefaultCatalogueFile is the name errors give the embedded catalogue.
const DefaultCatalogueFile = "scenarios.yaml"

//go:embed scenarios.yaml
var defaultCatalogue string

// DefaultCatalogue returns the default scenarios.yaml.
func DefaultCatalogue() []byte { return []byte(defaultCatalogue) }
