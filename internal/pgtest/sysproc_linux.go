package pgtest

import "syscall"

// childAttr runs a child as cred (nil: the current user). Pdeathsig ends
// the server when the test binary dies without running its cleanups, for
// example when go test kills it at its timeout.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
