package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

func listCmd(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("list", pflag.ContinueOnError)
	file := fs.StringP("file", "f", "", "scenario catalogue (default: the embedded scenarios.yaml)")
	if err := parseFlags(fs, args, stdout, "twbench list [-f FILE]"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("list: unexpected argument %q", fs.Arg(0))
	}
	cat, err := loadCatalogue(*file)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SCENARIO\tPROTOCOL\tCLOSER\tLOAD\tDESCRIPTION\n")
	for _, s := range cat.Scenarios {
		s.ApplyDefaults()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Protocol, s.Closer, s.Load(), s.Description)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, s := range cat.Suites {
		if _, err := fmt.Fprintf(stdout, "\nsuite %s (run --suite %s): %s\n", s.Name, s.Name, strings.Join(s.Scenarios, ", ")); err != nil {
			return fmt.Errorf("list: %w", err)
		}
	}
	return nil
}
