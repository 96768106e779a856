//go:build linux

// Package guestroot is the guest runtime of the PVE simulator: root
// directories for simulated containers, VMs and nodes, and one Exec that runs
// real commands inside them, isolated from the host. It knows nothing of HTTP
// or PVE's API; `pct exec`, `pct push`, the QEMU guest agent's exec and
// file-read/write, cloud-init and the node shell all go through it.
//
// # Root filesystems
//
// A base root is built once per Manager directory (cached under
// Dir/base/<version>) from Debian's bash-static and busybox-static
// (scripts/install-guest-deps.sh installs them; CheckDeps says when they are
// missing): /bin/bash, /bin/busybox with its applets (hard links; /bin/sh a
// symlink), passwd/group/shadow, hostname, hosts, /tmp 1777, /root 0700, empty
// /dev, /proc and /sys mount points, and a small `cloud-init` command. Create
// copies it and writes /etc/os-release for the template name (TemplateOS:
// ubuntu-24.04-standard_... is ID=ubuntu VERSION_ID="24.04"); template
// archives are never unpacked. Clone, Snapshot and Rollback are full copies
// with cp -a semantics (modes, owners, times, symlinks, hard links; no xattrs)
// staged in Dir/tmp and renamed into place.
//
// # Isolation
//
// Exec re-executes the current binary (/proc/self/exe) as a small init; this
// package's init() recognises the re-execution, so any binary importing the
// package can run guests and nobody has to hook main. The re-exec was chosen
// over unshare(1)+chroot(8) because the setup needs code between namespace
// creation and the command (private propagation, fd-based mounts, reaping,
// status reporting) that a shell pipeline cannot do race-free. The init:
//
//   - is PID 1 of new mount, PID, UTS, IPC and network namespaces (network
//     shared with ExecRequest.HostNetwork; only lo is up otherwise). With
//     ExecRequest.Unprivileged or an IDMap the command (not the init, which
//     stays host root to build the view) runs in a user namespace mapped as
//     PVE maps unprivileged containers: DefaultIDMap (0 100000 65536) or the
//     guest's lxc.idmap entries, over a root whose owners MapOwners shifted
//     into that range. Its capabilities then count only inside it: it can
//     neither mount nor touch files of unmapped (host) ids. Without user
//     namespaces Unprivileged runs as root in the isolated root.
//   - makes every mount private first, so nothing it mounts reaches the host;
//   - resolves every guest path with openat2(RESOLVE_IN_ROOT) and mounts
//     through file descriptors (fsopen/fsmount/open_tree/move_mount), so guest
//     symlinks, even swapped in concurrently, cannot redirect a mount out;
//   - mounts a fresh /proc, a tmpfs /dev with the host's null, zero, full,
//     random, urandom and tty bound onto it, and ExecRequest.Binds;
//   - pivot_roots into the guest root and detaches the old root, so no path
//     (not even a chroot escape) leads back to the host's /;
//   - drops every capability but Docker's default set minus CAP_MKNOD (no
//     CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, ...) from the
//     bounding set and makes itself non-dumpable (/proc/1/exe is the host
//     binary);
//   - runs the command, reaps orphans, reports exit status or signal over a
//     pipe and exits; the kernel then kills whatever the command left behind.
//
// Timeouts and cancellation SIGKILL the init, which takes the whole process
// tree with it; Exec returns once all of it is gone. Without root or
// namespaces Supported reports why and Exec refuses: nothing ever runs against
// the host's /.
//
// # Limits
//
//   - Output: DefaultMaxOutput = 16 MiB per stream, qemu-ga's
//     GUEST_EXEC_MAX_OUTPUT (qga/commands.c), past which it sets
//     out-truncated/err-truncated. pct exec has no cap. Output past the cap is
//     drained and dropped, never blocking the command.
//   - Reads: DefaultReadLimit = 16 MiB, PVE's $MAX_READ_SIZE for the agent's
//     file-read (PVE/API2/Qemu/Agent.pm). The API's other limits (exec
//     input-data 64 KiB, file-write content 60 KiB, qm guest exec's 30 s
//     synchronous wait) belong to the simulator's API layer.
//   - Timeout: none by default; pct exec has none and qm guest exec's
//     --timeout only stops waiting, it does not kill.
//
// Not simulated: /sys, /dev/pts (no terminals), cgroups and resource limits,
// background daemons outliving their exec, xattrs in copies.
package guestroot
