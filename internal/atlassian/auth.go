package atlassian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// sessionManager supplies the session cookie of the client's account,
// from memory, from the cache file or by signing in.
type sessionManager struct {
	c    *Client
	acct *accountState
	// store is nil for a pasted session_token, which has no account to
	// sign in again and is never written to disk.
	store  *sessionStore
	pasted string
}

func newSessionManager(c *Client) *sessionManager {
	o := c.opts
	if o.SessionToken != "" {
		sum := sha256.Sum256([]byte(o.SessionToken))
		return &sessionManager{c: c, pasted: o.SessionToken,
			acct: sharedAccount("pasted:" + hex.EncodeToString(sum[:12]))}
	}
	key := accountKey(c.identity.String(), o.Email)
	dir := o.SessionCacheDir
	if dir == "" {
		dir = DefaultSessionCacheDir()
	}
	return &sessionManager{c: c, acct: sharedAccount(dir + "\x00" + key),
		store: &sessionStore{dir: dir, key: key}}
}

// token returns a session cookie whose recorded expiry has not passed,
// from memory or the cache file, and signs in when there is none.
func (m *sessionManager) token(ctx context.Context) (string, error) {
	now := m.c.now()
	m.acct.mu.Lock()
	tok, exp := m.acct.token, m.acct.expires
	m.acct.mu.Unlock()
	if m.store == nil {
		if tok == "" {
			return m.pasted, nil
		}
		return tok, nil
	}
	if tok != "" && now.Before(exp) {
		return tok, nil
	}
	if tok, ok, err := m.fromCache(""); err != nil || ok {
		return tok, err
	}
	return m.signIn(ctx, "")
}

// fromCache loads a usable session other than rejected from the cache file
// into memory.
func (m *sessionManager) fromCache(rejected string) (string, bool, error) {
	f, found, err := m.store.load()
	if err != nil || !found {
		return "", false, err
	}
	m.acct.mu.Lock()
	defer m.acct.mu.Unlock()
	if f.LastTOTPStep > m.acct.lastStep {
		m.acct.lastStep = f.LastTOTPStep
	}
	tok := f.Cookies[sessionCookie]
	if tok == "" || tok == rejected || !m.c.now().Before(f.Expires) {
		return "", false, nil
	}
	m.acct.token, m.acct.expires = tok, f.Expires
	return tok, true, nil
}

// renew replaces a session the admin hub or a site rejected: with a newer
// one another goroutine or process stored, else by signing in again.
func (m *sessionManager) renew(ctx context.Context, rejected string) (string, error) {
	m.acct.mu.Lock()
	if m.acct.token == rejected {
		m.acct.token = ""
	}
	tok, exp := m.acct.token, m.acct.expires
	m.acct.mu.Unlock()
	if tok != "" && (m.store == nil || m.c.now().Before(exp)) {
		return tok, nil
	}
	if m.store == nil {
		return "", fmt.Errorf("%w: the pasted session_token expired or was signed out "+
			"(sign in to admin.atlassian.com with a browser and paste the new "+
			"cloud.session.token cookie as session_token)", ErrSessionExpired)
	}
	m.c.log.Info("atlassian.signIn", "reason", "session rejected")
	return m.signIn(ctx, rejected)
}

// signIn runs the sign-in flow while holding the account's in-process and
// cross-process locks, unless another sign-in has just stored a session.
func (m *sessionManager) signIn(ctx context.Context, rejected string) (string, error) {
	if err := m.acct.acquire(ctx); err != nil {
		return "", err
	}
	defer m.acct.release()

	now := m.c.now()
	m.acct.mu.Lock()
	tok, exp := m.acct.token, m.acct.expires
	m.acct.mu.Unlock()
	if tok != "" && tok != rejected && now.Before(exp) {
		return tok, nil
	}

	unlock, err := m.store.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have signed in while this one waited.
	if tok, ok, err := m.fromCache(rejected); err != nil || ok {
		return tok, err
	}
	o := m.c.opts
	if err := m.store.paused(now, o.Password, m.c.totpSecret); err != nil {
		m.c.log.Warn("atlassian.signIn", "result", "paused", "error", err.Error())
		return "", err
	}

	m.acct.mu.Lock()
	lastStep := m.acct.lastStep
	m.acct.mu.Unlock()
	m.c.log.Info("atlassian.signIn", "state", "start")
	tok, err = m.c.runSignIn(ctx, lastStep, m.recordStep)
	if err != nil {
		return "", m.failed(err)
	}

	now = m.c.now()
	exp = sessionExpiry(tok, now)
	m.acct.mu.Lock()
	m.acct.token, m.acct.expires = tok, exp
	m.acct.mu.Unlock()
	m.store.clearPause()
	if err := m.store.update(func(f *sessionFile) {
		f.Cookies = map[string]string{sessionCookie: tok}
		f.Created, f.Expires = now, exp
	}); err != nil {
		// The session works for this process; others will sign in again.
		m.c.log.Warn("atlassian.signIn", "result", "signed in, cache not written",
			"error", err.Error())
	}
	m.c.log.Info("atlassian.signIn", "result", "signed in")
	return tok, nil
}

// recordStep stores a TOTP step, in memory and on disk, before its code
// is sent. A failed write stops the sign-in, because another process could
// then send the same code.
func (m *sessionManager) recordStep(step int64) error {
	m.acct.mu.Lock()
	if step > m.acct.lastStep {
		m.acct.lastStep = step
	}
	m.acct.mu.Unlock()
	return m.store.update(func(f *sessionFile) {
		if step > f.LastTOTPStep {
			f.LastTOTPStep = step
		}
	})
}

// failed pauses the account after a sign-in error that retrying would
// repeat, and returns the error to report.
func (m *sessionManager) failed(err error) error {
	reason, ok := pauseReasonOf(err)
	// An unrecognised response before the password was sent tells nothing
	// about the account. It is likely a proxy page or an outage, so it is
	// no reason to stop every process from trying for 15 minutes.
	var signInErr *SignInError
	if ok && errors.As(err, &signInErr) && !signInErr.PasswordSent &&
		errors.Is(err, ErrUnrecognisedAnswer) {
		ok = false
	}
	if !ok {
		m.c.log.Warn("atlassian.signIn", "result", "failed", "error", err.Error())
		return err
	}
	until, perr := m.store.pause(reason, m.c.now(), m.c.opts.Password, m.c.totpSecret)
	if perr != nil {
		m.c.log.Error("atlassian.signIn", "result", "failed, pause not written",
			"error", perr.Error())
		return errors.Join(err, perr)
	}
	m.c.log.Warn("atlassian.signIn", "result", "failed, paused", "reason", reason,
		"until", until.UTC().Format(time.RFC3339))
	return &PausedError{Cause: err, Until: until}
}

// refreshed keeps a session cookie the admin hub or a site sent in place
// of old, in memory and, for a signed-in session, in the cache file.
func (m *sessionManager) refreshed(old, tok string) {
	now := m.c.now()
	exp := sessionExpiry(tok, now)
	m.acct.mu.Lock()
	if m.acct.token != "" && m.acct.token != old {
		// A newer session is already in use.
		m.acct.mu.Unlock()
		return
	}
	m.acct.token, m.acct.expires = tok, exp
	m.acct.mu.Unlock()
	m.c.log.Debug("atlassian.sessionRefreshed")

	if m.store == nil {
		return
	}
	// Writing under the lock keeps a concurrent sign-in's TOTP step from
	// being overwritten. A process that is signing in holds the lock and
	// will store a newer session, so a busy lock skips the write.
	unlock, ok := m.store.tryLock()
	if !ok {
		return
	}
	defer unlock()
	err := m.store.update(func(f *sessionFile) {
		f.Cookies = map[string]string{sessionCookie: tok}
		f.Created, f.Expires = now, exp
	})
	if err != nil {
		m.c.log.Warn("atlassian.sessionRefreshed", "result", "cache not written",
			"error", err.Error())
	}
}
