package sockstat

// LinuxDefaults returns the TCP settings of a Linux host left at its
// defaults, for arithmetic about a host whose own settings cannot be read.
// tcp_max_tw_buckets is left out: its default scales with the host's
// memory.
func LinuxDefaults() Host {
	return Host{Kernel: "linux defaults", Sysctl: map[string]string{
		SysctlPortRange:     "32768 60999",
		SysctlReservedPorts: "",
		SysctlTWReuse:       "2",
		SysctlTWReuseDelay:  "1000",
		SysctlFinTimeout:    "60",
		SysctlTimestamps:    "1",
	}}
}
