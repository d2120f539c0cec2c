package atlassian

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Session cache limits.
const (
	// sessionMaxAge is how long a cached session is used when its cookie
	// carries no exp claim. NOTE: Atlassian does not document session
	// lifetimes, so this is a guess. A session that ends earlier is
	// noticed by the 401 or sign-in redirect and replaced.
	sessionMaxAge = 24 * time.Hour
	// pauseDuration is how long sign-ins for an account stop after a
	// credential error, so that automated retries do not lock it.
	pauseDuration = 15 * time.Minute
	// lockWait bounds the wait for another process's sign-in, which takes
	// a few seconds plus up to one TOTP step.
	lockWait     = 2 * time.Minute
	lockPoll     = 50 * time.Millisecond
	fingerprintN = 100000 // PBKDF2 iterations of the pause fingerprint
)

// sessionFile is the JSON of one account's cached session.
type sessionFile struct {
	Cookies map[string]string `json:"cookies"`
	Created time.Time         `json:"created"`
	Expires time.Time         `json:"expires"`
	// LastTOTPStep is the last 30 second step whose code was sent, so
	// that no process sends a code of that step again.
	LastTOTPStep int64 `json:"last_totp_step"`
}

// pauseFile is the JSON of one account's sign-in pause. Fingerprint is a
// salted PBKDF2 hash of the password and TOTP secret in use when the
// sign-in failed, so that a changed setting lifts the pause. The file
// never contains either value.
type pauseFile struct {
	Until       time.Time `json:"until"`
	Reason      string    `json:"reason"`
	Salt        string    `json:"salt"`
	Fingerprint string    `json:"fingerprint"`
}

// pauseReasons maps the sentinel errors that pause sign-ins to the name
// stored in the pause file.
var pauseReasons = map[string]error{
	"wrong_password":      ErrWrongPassword,
	"code_rejected":       ErrCodeRejected,
	"email_code_required": ErrEmailCodeRequired,
	"bot_check":           ErrBotCheck,
	"account_locked":      ErrAccountLocked,
	"unrecognised_answer": ErrUnrecognisedAnswer,
}

// pauseReasonOf returns the pause file's name for a sign-in failure that
// pauses the account. An SSO redirect does not pause: it comes before the
// password is sent, so retrying it costs nothing.
func pauseReasonOf(err error) (string, bool) {
	for name, sentinel := range pauseReasons {
		if errors.Is(err, sentinel) {
			return name, true
		}
	}
	return "", false
}

// sessionStore is the on-disk state of one account: <key>.json holds the
// session, <key>.lock serializes sign-ins across processes and
// <key>.pause records a sign-in pause.
type sessionStore struct {
	dir string
	key string
}

func (s *sessionStore) path(ext string) string {
	return filepath.Join(s.dir, "session-"+s.key+ext)
}

// accountKey names the files of an account without putting its e-mail
// address in a file name.
func accountKey(identityURL, email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(identityURL) + "\x00" +
		strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:12])
}

func (s *sessionStore) ensureDir() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return cacheError("cannot create the session cache directory: " + err.Error())
	}
	// Another user who can write the directory could replace the lock or
	// pause files, or plant a session. A sticky directory such as /tmp is
	// accepted, because it stops them from touching files they do not own.
	info, err := os.Stat(s.dir)
	if err != nil {
		return cacheError("cannot read the session cache directory: " + err.Error())
	}
	if info.Mode().Perm()&0o022 != 0 && info.Mode()&fs.ModeSticky == 0 {
		return &ConfigError{Setting: "session_cache_path",
			Problem: "the directory " + s.dir + " is writable by other users",
			Fix:     "run chmod 700 on it, or set session_cache_path to a private directory"}
	}
	return nil
}

func cacheError(problem string) error {
	return &ConfigError{Setting: "session_cache_path", Problem: problem,
		Fix: "set session_cache_path to a private directory the plugin can write"}
}

// readPrivateJSON reads a JSON file written by writePrivateJSON. A missing
// file gives found=false. A file that group or others can read is
// rejected, because it may hold a session another user could take.
func readPrivateJSON(path string, v any) (found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, cacheError("cannot read " + path + ": " + err.Error())
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, cacheError("cannot read " + path + ": " + err.Error())
	}
	if st.Mode().Perm()&0o077 != 0 {
		return false, &ConfigError{Setting: "session_cache_path",
			Problem: fmt.Sprintf("rejected %s: its permissions %04o let other users read "+
				"the session", path, st.Mode().Perm()),
			Fix: "run `chmod 600 " + path + "` or delete the file"}
	}
	if err := json.NewDecoder(f).Decode(v); err != nil {
		// A corrupt file is ignored and overwritten by the next write.
		return false, nil
	}
	return true, nil
}

// writePrivateJSON writes v to path with mode 0600, atomically: readers
// see the old or the new file, never a partial one.
func writePrivateJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return cacheError("cannot write the session cache: " + err.Error())
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return cacheError("cannot write the session cache: " + err.Error())
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return cacheError("cannot write the session cache: " + err.Error())
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return cacheError("cannot write the session cache: " + err.Error())
	}
	if err := tmp.Close(); err != nil {
		return cacheError("cannot write the session cache: " + err.Error())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return cacheError("cannot write the session cache: " + err.Error())
	}
	return nil
}

func (s *sessionStore) load() (sessionFile, bool, error) {
	var f sessionFile
	found, err := readPrivateJSON(s.path(".json"), &f)
	return f, found, err
}

func (s *sessionStore) save(f sessionFile) error {
	if err := s.ensureDir(); err != nil {
		return err
	}
	return writePrivateJSON(s.path(".json"), f)
}

// update applies change to the cached session under a read-modify-write,
// keeping the highest TOTP step any writer recorded.
func (s *sessionStore) update(change func(*sessionFile)) error {
	f, _, err := s.load()
	if err != nil {
		return err
	}
	last := f.LastTOTPStep
	change(&f)
	if f.LastTOTPStep < last {
		f.LastTOTPStep = last
	}
	return s.save(f)
}

// lock takes the account's lock file with flock, polling until ctx is done
// or lockWait has passed. flock locks are released by the kernel when the
// process dies, so a crashed sign-in never leaves the account locked.
func (s *sessionStore) lock(ctx context.Context) (unlock func(), err error) {
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path(".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, cacheError("cannot open the sign-in lock file: " + err.Error())
	}
	deadline := time.NewTimer(lockWait)
	defer deadline.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, cacheError("cannot lock the sign-in lock file: " + err.Error())
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another process's sign-in failed: %w", ctx.Err())
		case <-deadline.C:
			f.Close()
			return nil, fmt.Errorf("waiting for another process's sign-in timed out after %s "+
				"(another steampipe process holds %s)", lockWait, s.path(".lock"))
		case <-time.After(lockPoll):
		}
	}
}

// tryLock takes the account's lock file if no other process holds it.
func (s *sessionStore) tryLock() (unlock func(), ok bool) {
	if s.ensureDir() != nil {
		return nil, false
	}
	f, err := os.OpenFile(s.path(".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, true
}

// fingerprint derives the pause fingerprint of the sign-in settings.
func fingerprint(salt []byte, password, secret string) string {
	key, err := pbkdf2.Key(sha256.New, password+"\x00"+secret, salt, fingerprintN, 32)
	if err != nil {
		return ""
	}
	return base64.RawStdEncoding.EncodeToString(key)
}

// pause records that sign-ins with these settings must stop until
// now+pauseDuration.
func (s *sessionStore) pause(reason string, now time.Time,
	password, secret string) (time.Time, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return time.Time{}, err
	}
	until := now.Add(pauseDuration)
	p := pauseFile{
		Until:       until,
		Reason:      reason,
		Salt:        base64.RawStdEncoding.EncodeToString(salt),
		Fingerprint: fingerprint(salt, password, secret),
	}
	if err := s.ensureDir(); err != nil {
		return until, err
	}
	return until, writePrivateJSON(s.path(".pause"), p)
}

// paused returns a *PausedError when a pause for the same settings is
// still running. A pause that ended, or that was recorded for another
// password or secret, is removed.
func (s *sessionStore) paused(now time.Time, password, secret string) error {
	var p pauseFile
	found, err := readPrivateJSON(s.path(".pause"), &p)
	if err != nil || !found {
		return err
	}
	salt, err := base64.RawStdEncoding.DecodeString(p.Salt)
	same := err == nil && subtle.ConstantTimeCompare(
		[]byte(fingerprint(salt, password, secret)), []byte(p.Fingerprint)) == 1
	if !same || !now.Before(p.Until) {
		_ = os.Remove(s.path(".pause"))
		return nil
	}
	cause, ok := pauseReasons[p.Reason]
	if !ok {
		cause = ErrUnrecognisedAnswer
	}
	return &PausedError{Cause: cause, Until: p.Until}
}

func (s *sessionStore) clearPause() {
	_ = os.Remove(s.path(".pause"))
}

// accountState is the in-process state of one account, shared by every
// Client of the process.
type accountState struct {
	// sem serializes sign-ins in the process; a channel rather than a
	// sync.Mutex so that waiting can stop when the context is done.
	sem chan struct{}

	mu       sync.Mutex
	token    string
	expires  time.Time
	lastStep int64
}

var (
	accountsMu sync.Mutex
	accounts   = map[string]*accountState{}
)

func sharedAccount(key string) *accountState {
	accountsMu.Lock()
	defer accountsMu.Unlock()
	a, ok := accounts[key]
	if !ok {
		a = &accountState{sem: make(chan struct{}, 1)}
		accounts[key] = a
	}
	return a
}

func (a *accountState) acquire(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another sign-in of this account failed: %w", ctx.Err())
	}
}

func (a *accountState) release() { <-a.sem }

// sessionExpiry returns when a session cookie stops being usable: the
// JWT's exp claim when it has one, else created plus sessionMaxAge.
func sessionExpiry(token string, created time.Time) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var claims struct {
				Exp json.Number `json:"exp"`
			}
			if json.Unmarshal(raw, &claims) == nil {
				if exp, err := claims.Exp.Int64(); err == nil && exp > 0 {
					return time.Unix(exp, 0)
				}
			}
		}
	}
	return created.Add(sessionMaxAge)
}
