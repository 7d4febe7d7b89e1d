//go:build !unix

package main

import "github.com/twbench/twbench/harness"

func raiseFileLimit() harness.FileLimit { return harness.FileLimit{} }
