package twbench

import _ "embed"

// DefaultCatalogueFile is the name errors give the embedded catalogue.
const DefaultCatalogueFile = "scenarios.yaml"

//go:embed scenarios.yaml
var defaultCatalogue string

// DefaultCatalogue returns the default scenarios.yaml.
func DefaultCatalogue() []byte { return []byte(defaultCatalogue) }
