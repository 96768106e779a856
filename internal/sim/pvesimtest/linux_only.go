//go:build !linux

// Package pvesimtest is part of the PVE simulator, which runs guests in Linux
// namespaces: it is built on Linux only.
package pvesimtest
