//go:build !linux

// Command pvesim, the Proxmox VE simulator, runs guests in Linux namespaces:
// elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pvesim: needs Linux (namespaces, chroot, openat2); run it on a Linux machine or VM")
	os.Exit(1)
}
