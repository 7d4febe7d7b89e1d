package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version returns the module version, or the VCS revision of a source
// build.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "-" + s.Value[:12]
			}
		}
	}
	return v
}

func versionCmd(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "twbench %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
