package sockstat

import (
	"fmt"
	"os"
	"strings"
)

// NetNamespace names this process's network namespace, uniquely across
// hosts and boots: the boot's id and the namespace's inode,
// "BOOT_ID/INODE". Two processes with the same name see the same sockets:
// two shards of a fleet on one host do, two pods do not.
func NetNamespace() (string, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("sockstat: boot id: %w", err)
	}
	link, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("sockstat: network namespace: %w", err)
	}
	return parseNetNamespace(string(boot), link)
}

// parseNetNamespace joins the boot id and the inode of a "net:[INODE]"
// link.
func parseNetNamespace(boot, link string) (string, error) {
	boot = strings.TrimSpace(boot)
	inode, ok := strings.CutPrefix(link, "net:[")
	inode, ok2 := strings.CutSuffix(inode, "]")
	if boot == "" || !ok || !ok2 || inode == "" {
		return "", fmt.Errorf("sockstat: network namespace: boot id %q, link %q", boot, link)
	}
	return boot + "/" + inode, nil
}
