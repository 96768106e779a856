//go:build linux

package pvesim

import (
	"regexp"
	"strconv"
	"strings"
)

// The privileges of a VM's settings: qemu-server's API2/Qemu.pm
// ($cpuoptions, $memoryoptions, $hwtypeoptions, $generaloptions,
// $vmpoweroptions, $diskoptions, $cloudinitoptions and
// $check_vm_modify_config_perm).
var (
	vmCPUOpts     = setOf("cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus")
	vmMemoryOpts  = setOf("memory", "balloon", "shares", "allow-ksm")
	vmHWTypeOpts  = setOf("acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0")
	vmGeneralOpts = setOf("agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime", "migrate_speed",
		"name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template")
	vmCloudInitOpts = setOf("cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys")
	vmSkippedKeyRE  = regexp.MustCompile(`^(?:unused|serial|usb|hostpci|virtiofs)\d+$`)
	vmNumaKeyRE     = regexp.MustCompile(`^numa\d+$`)
	vmIPConfigRE    = regexp.MustCompile(`^ipconfig\d+$`)
	vmSerialRE      = regexp.MustCompile(`^serial\d+$`)
	// qemuNewDiskRE is qemu-server's NEW_DISK_RE: "[STORAGE:]SIZE".
	qemuNewDiskRE = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// vmCreateOnly are create_vm's parameters that are not settings.
var vmCreateOnly = setOf("node", "vmid", "storage", "archive", "force", "unique", "pool", "start", "bwlimit", "live-restore",
	"import-working-storage", "ha-managed")

// vmUpdateOnly are update_vm_api's parameters that are not settings.
var vmUpdateOnly = setOf("node", "vmid", "digest", "background_delay", "skip_cloud_init", "import-working-storage",
	"skiplock", "delete", "revert", "force")

// vmCreatePerms is qemu-server's create_vm: space on the storage, start
// rights when starting, VM.Allocate, the disks' storage access, each
// setting's privilege, serial sockets and bridges.
func vmCreatePerms(s *Server, r *request) error {
	vmid := r.integer("vmid")
	if s.guestSnapshot(vmid) != nil {
		return nil // check_vmid_unused fails first, in the handler
	}
	u, vm := r.user, "/vms/"+strconv.Itoa(vmid)
	if st := r.str("storage"); st != "" {
		if err := s.check(u, "/storage/"+st, "Datastore.AllocateSpace"); err != nil {
			return err
		}
	}
	if r.boolean("start") {
		if err := s.check(u, vm, "VM.PowerMgmt"); err != nil {
			return err
		}
	}
	if !s.has(u, vm, "VM.Allocate") {
		return permErr("")
	}
	set := map[string]string{}
	for _, k := range sortedParams(r, vmCreateOnly) {
		set[k] = r.str(k)
	}
	if err := s.vmStorageAccess(u, vmid, set, r.str("storage")); err != nil {
		return err
	}
	if err := s.vmKeyPerms(u, vmid, sortedKeys(set)); err != nil {
		return err
	}
	for _, k := range sortedKeys(set) {
		if vmSerialRE.MatchString(k) {
			if set[k] != "socket" {
				return die("only root can set '%s' config for real devices", k)
			}
			if err := s.check(u, vm, "VM.Config.HWType"); err != nil {
				return err
			}
		}
	}
	return s.vmBridges(u, set)
}

// vmConfigPerms is update_vm_api: each setting's and deletion's
// privilege, the disks' storage access, bridges, then each drive's
// ($check_drive_perms: a cloud-init drive needs VM.Config.Cloudinit and
// VM.Config.CDROM, a CD-ROM VM.Config.CDROM, a disk VM.Config.Disk).
func vmConfigPerms(s *Server, r *request) error {
	vmid := r.vmid()
	old := s.guestSnapshot(vmid)
	if old == nil {
		return nil
	}
	u, vm := r.user, "/vms/"+strconv.Itoa(vmid)
	set := map[string]string{}
	for _, k := range sortedParams(r, vmUpdateOnly) {
		set[k] = r.str(k)
	}
	del := splitList(r.str("delete"))
	if err := s.vmKeyPerms(u, vmid, del); err != nil {
		return err
	}
	if err := s.vmKeyPerms(u, vmid, sortedKeys(set)); err != nil {
		return err
	}
	if err := s.vmStorageAccess(u, vmid, set, ""); err != nil {
		return err
	}
	if err := s.vmBridges(u, set); err != nil {
		return err
	}
	drives := map[string]string{}
	for _, k := range del {
		if qemuDiskKeyRE.MatchString(k) && old[k] != "" {
			drives[k] = old[k]
		}
	}
	for k, v := range set {
		if qemuDiskKeyRE.MatchString(k) {
			drives[k] = v
		}
	}
	for _, k := range sortedKeys(drives) {
		file := splitProps(drives[k], "file")["file"]
		var err error
		switch {
		case isCloudInitFile(file):
			err = s.check(u, vm, "VM.Config.Cloudinit", "VM.Config.CDROM")
		case isCDROM(drives[k]):
			err = s.check(u, vm, "VM.Config.CDROM")
		default:
			err = s.check(u, vm, "VM.Config.Disk")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// vmKeyPerms is $check_vm_modify_config_perm.
func (s *Server) vmKeyPerms(u string, vmid int, keys []string) error {
	vm := "/vms/" + strconv.Itoa(vmid)
	for _, k := range keys {
		var err error
		switch {
		case qemuDiskKeyRE.MatchString(k), k == "cdrom", vmSkippedKeyRE.MatchString(k), k == "tags":
			// checked with their values (drives, serial ports, USB, PCI)
		case vmCPUOpts[k], vmNumaKeyRE.MatchString(k):
			err = s.check(u, vm, "VM.Config.CPU")
		case vmMemoryOpts[k]:
			err = s.check(u, vm, "VM.Config.Memory")
		case vmHWTypeOpts[k]:
			err = s.check(u, vm, "VM.Config.HWType")
		case vmGeneralOpts[k]:
			if err = s.check(u, vm, "VM.Config.Options"); err == nil && k == "startup" {
				// "special case for startup since it changes host behaviour"
				err = s.check(u, "/", "Sys.Modify")
			}
		case k == "freeze":
			err = s.check(u, vm, "VM.PowerMgmt")
		case k == "boot" || k == "bootdisk" || k == "vmstatestorage":
			err = s.check(u, vm, "VM.Config.Disk")
		case netKeyRE.MatchString(k):
			err = s.check(u, vm, "VM.Config.Network")
		case vmCloudInitOpts[k], vmIPConfigRE.MatchString(k):
			err = s.checkAny(u, vm, "VM.Config.Cloudinit", "VM.Config.Network")
		case k == "vmstate":
			err = s.check(u, vm, "VM.Config.Disk", "VM.PowerMgmt")
		default:
			err = die("only root can set '%s' config", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// vmStorageAccess is $check_storage_access: space for new disks, access to
// existing volumes and to import-from sources.
func (s *Server) vmStorageAccess(u string, vmid int, set map[string]string, defStorage string) error {
	for _, k := range sortedKeys(set) {
		if !qemuDiskKeyRE.MatchString(k) {
			continue
		}
		m := splitProps(set[k], "file")
		file, cd := m["file"], m["media"] == "cdrom"
		_, volname, _ := splitVolID(file)
		switch {
		case file == "" || file == "none" || file == "cloudinit" || volname == "cloudinit":
		case cd && file == "cdrom":
			if err := s.check(u, "/", "Sys.Console"); err != nil {
				return err
			}
		case !cd && qemuNewDiskRE.MatchString(file):
			sid := qemuNewDiskRE.FindStringSubmatch(file)[2]
			if sid == "" {
				sid = defStorage
			}
			if err := s.check(u, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return err
			}
		case strings.HasPrefix(file, "/"):
			// a path: root@pam's, refused by the handler
		default:
			if err := s.volumeAccess(u, vmid, file); err != nil {
				return err
			}
		}
		if src := m["import-from"]; src != "" && !strings.HasPrefix(src, "/") {
			if err := s.importAccess(u, vmid, src); err != nil {
				return err
			}
		}
	}
	return nil
}

// importAccess checks an import-from volume: VM.Clone on the VM owning a
// disk image, else check_volume_access.
func (s *Server) importAccess(u string, vmid int, src string) error {
	if _, name, _ := splitVolID(src); !strings.HasPrefix(name, "import/") {
		if m := volOwnerRE.FindStringSubmatch(name); m != nil {
			return s.check(u, "/vms/"+m[1], "VM.Clone")
		}
	}
	return s.volumeAccess(u, vmid, src)
}

// vmBridges is QemuServer::check_bridge_access for the netN settings.
func (s *Server) vmBridges(u string, set map[string]string) error {
	for _, k := range sortedKeys(set) {
		if netKeyRE.MatchString(k) {
			if err := s.bridgeAccess(u, set[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
