package pveconf

import (
	"fmt"
	"strings"
)

// lxcKeyValidity is pve-container's is_valid_lxc_conf_key: whether a raw
// lxc.* key is kept, and the warning (complete message) PVE prints for it.
func lxcKeyValidity(vmid int, key string) (ok bool, warning string) {
	switch key {
	case "lxc.rootfs.path":
		return false, fmt.Sprintf("vm %d - %s: lxc.rootfs.path is auto generated from rootfs", vmid, key)
	case "lxc.rootfs.options":
		return false, fmt.Sprintf("vm %d - %s: lxc.rootfs.options is not supported, please use mount point options in the \"rootfs\" key", vmid, key)
	}
	if strings.HasPrefix(key, "lxc.limit.") {
		return true, fmt.Sprintf("vm %d - %s: lxc.limit.* was renamed to lxc.prlimit.*", vmid, key)
	}
	if validLXCKeys[key] {
		return true, ""
	}
	if strings.HasPrefix(key, "lxc.cgroup.") {
		return true, fmt.Sprintf("vm %d - %s is deprecated, this will be a hard error in the future!", vmid, key)
	}
	if strings.HasPrefix(key, "lxc.cgroup2.") || strings.HasPrefix(key, "lxc.prlimit.") || strings.HasPrefix(key, "lxc.net.") {
		return true, ""
	}
	return false, ""
}

var validLXCKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`lxc.apparmor.profile lxc.apparmor.allow_incomplete lxc.apparmor.allow_nesting
		lxc.apparmor.raw lxc.selinux.context lxc.include lxc.arch lxc.uts.name lxc.signal.halt lxc.signal.reboot
		lxc.signal.stop lxc.init.cmd lxc.init.cwd lxc.init.uid lxc.init.gid lxc.init.groups lxc.pty.max
		lxc.console.logfile lxc.console.path lxc.tty.max lxc.devtty.dir lxc.hook.autodev lxc.autodev lxc.kmsg
		lxc.mount.fstab lxc.mount.entry lxc.mount.auto lxc.rootfs.mount lxc.cap.drop lxc.cap.keep
		lxc.seccomp.profile lxc.seccomp.notify.proxy lxc.seccomp.notify.cookie lxc.idmap lxc.hook.pre-start
		lxc.hook.pre-mount lxc.hook.mount lxc.hook.start lxc.hook.stop lxc.hook.post-stop lxc.hook.clone
		lxc.hook.destroy lxc.hook.version lxc.log.level lxc.log.file lxc.start.auto lxc.start.delay
		lxc.start.order lxc.group lxc.environment lxc.environment.runtime lxc.environment.hooks`) {
		m[k] = true
	}
	for _, k := range strings.Fields(`fs.mqueue kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall
		kernel.shmmax kernel.shmmni kernel.shm_rmid_forced`) {
		m["lxc.sysctl."+k] = true
	}
	return m
}()
