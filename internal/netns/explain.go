package netns

import (
	"errors"
	"fmt"
	"syscall"
)

// explain says why namespaces were refused, from the error and the
// settings read reads by name ("" for a setting this kernel lacks). The
// settings that turn unprivileged user namespaces off are, in order of
// how they show: AppArmor's restriction (Ubuntu 23.10 and later: the
// namespace is made, but holds no capability, so what is done in it fails
// with EPERM), Debian's older switch, and the limit on their number.
func explain(err error, userns bool, read func(string) string) string {
	if !userns {
		return fmt.Sprintf("making a network namespace was refused (%v) although twbench runs with CAP_SYS_ADMIN: "+
			"a seccomp or LSM policy forbids unshare(CLONE_NEWNET) here (a container's?); run twbench where it is allowed "+
			"(docker: --cap-add SYS_ADMIN --security-opt seccomp=unconfined), or use --topology host", errnoText(err))
	}
	switch {
	case read("kernel.apparmor_restrict_unprivileged_userns") == "1":
		return "unprivileged user namespaces are restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1): " +
			"run twbench as root, or set kernel.apparmor_restrict_unprivileged_userns=0, or give twbench an AppArmor profile that allows userns"
	case read("kernel.unprivileged_userns_clone") == "0":
		return "unprivileged user namespaces are off (kernel.unprivileged_userns_clone=0): run twbench as root, or set kernel.unprivileged_userns_clone=1"
	case read("user.max_user_namespaces") == "0":
		return "user namespaces are off (user.max_user_namespaces=0): run twbench as root, or set user.max_user_namespaces above 0"
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Sprintf("the limit on user namespaces was reached (user.max_user_namespaces=%s): end other programs' namespaces, raise the limit, or run twbench as root",
			read("user.max_user_namespaces"))
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOSYS):
		return fmt.Sprintf("this kernel makes no user namespaces (%v; CONFIG_USER_NS?): run twbench as root", errnoText(err))
	}
	return fmt.Sprintf("making a user namespace was refused (%v; a container's seccomp profile or an LSM policy?): "+
		"run twbench as root, or where unprivileged user namespaces are allowed", errnoText(err))
}

// errnoText names the errno in err, or says err.
func errnoText(err error) string {
	var no syscall.Errno
	if errors.As(err, &no) {
		return no.Error()
	}
	return err.Error()
}
