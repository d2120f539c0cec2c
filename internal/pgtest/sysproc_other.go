//go:build !linux

package pgtest

import "syscall"

// childAttr runs a child as cred (nil: the current user).
//
// NOTE: outside Linux there is no parent-death signal, so a server
// outlives a test binary that is killed before its cleanups run.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
