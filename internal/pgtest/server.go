package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeouts of the server's life cycle. initdb and the start usually take
// about a second together. The limits are generous because several test
// packages may start servers at once on a loaded machine.
const (
	initdbTimeout = 60 * time.Second
	startTimeout  = 30 * time.Second
	stopTimeout   = 15 * time.Second
	// connectAttemptTimeout bounds one readiness probe, so that a server
	// that accepts the socket but never responds cannot stall Start.
	connectAttemptTimeout = 2 * time.Second
)

// Superuser and Database name the role and database every Server has.
const (
	Superuser = "pgtest"
	Database  = "postgres"
)

// BinDirEnv names the environment variable that overrides where Start
// looks for initdb and postgres, for machines without Debian's layout.
const BinDirEnv = "PGTEST_BIN_DIR"

// maxSocketPath is the longest socket path Linux accepts (sun_path holds
// 108 bytes including the terminating zero).
const maxSocketPath = 107

// Server is a running PostgreSQL server owned by one test.
type Server struct {
	// Dir is the server's directory: its data directory, log file and
	// unix socket are inside.
	Dir string
	// Version is the major version of the PostgreSQL programs, e.g. "15".
	Version string

	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the server process has exited
	waitErr error         // the server's exit status, set before done closes
	release chan struct{} // closed to let the starting thread go
}

// Start starts a PostgreSQL server and registers its stop with
// t.Cleanup. It skips the test when PostgreSQL is not installed, except
// when the environment variable CI is "true": there it fails the test,
// because CI must install PostgreSQL and run every test.
func Start(t testing.TB) *Server {
	t.Helper()
	binDir, version, err := findBinDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true, so this fails rather than skips)", err)
		}
		t.Skipf("pgtest: %v", err)
	}
	s, err := start(binDir, version)
	if s != nil {
		t.Cleanup(func() {
			if err := s.stop(); err != nil {
				t.Errorf("pgtest: %v", err)
			}
			if err := os.RemoveAll(s.Dir); err != nil {
				t.Errorf("pgtest: removing %s failed: %v", s.Dir, err)
			}
		})
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// ConnString returns a connection string for the server's unix socket.
func (s *Server) ConnString() string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=%s sslmode=disable",
		s.Dir, Superuser, Database)
}

// Connect opens a connection that t.Cleanup closes. Cleanups run in
// reverse order, so the connection closes before the server stops.
func (s *Server) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.ConnString())
	if err != nil {
		t.Fatalf("pgtest: connecting to the server in %s failed: %v", s.Dir, err)
	}
	t.Cleanup(func() {
		closeCtx, closeCancel := context.WithTimeout(context.Background(), stopTimeout)
		defer closeCancel()
		conn.Close(closeCtx)
	})
	return conn
}

// findBinDir returns the directory of initdb and postgres: BinDirEnv when
// set, else the newest /usr/lib/postgresql/VERSION/bin that has both.
func findBinDir() (dir, version string, err error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if !hasPrograms(dir) {
			return "", "", fmt.Errorf("invalid %s %q: no initdb and postgres programs in it",
				BinDirEnv, dir)
		}
		return dir, filepath.Base(filepath.Dir(dir)), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var versions []string
	for _, m := range matches {
		if hasPrograms(m) {
			versions = append(versions, filepath.Base(filepath.Dir(m)))
		}
	}
	if len(versions) == 0 {
		return "", "", fmt.Errorf("PostgreSQL not found: no initdb and postgres under " +
			"/usr/lib/postgresql/*/bin; install it with 'apt-get install -y postgresql' " +
			"or set " + BinDirEnv)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	newest := versions[len(versions)-1]
	return filepath.Join("/usr/lib/postgresql", newest, "bin"), newest, nil
}

func hasPrograms(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionLess orders "9.6" before "15" before "16": numerically by major
// version, then as text.
func versionLess(a, b string) bool {
	na, errA := strconv.ParseFloat(a, 64)
	nb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil && na != nb {
		return na < nb
	}
	return a < b
}

// serverUser returns the credential the PostgreSQL programs run with: nil
// (the current user) unless the test runs as root, which initdb and
// postgres reject.
func serverUser() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		return nil, "", nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, errUID := strconv.ParseUint(u.Uid, 10, 32)
		gid, errGID := strconv.ParseUint(u.Gid, 10, 32)
		if errUID != nil || errGID != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, name, nil
	}
	return nil, "", errors.New("running as root, but neither a postgres nor a nobody user " +
		"exists to run PostgreSQL as; create one, or run the tests as another user")
}

// makeDir creates the server's directory, owned by the server's user. It
// lives directly in the temporary directory rather than in t.TempDir:
// under root, t.TempDir's parent is private to root, and the socket path
// must stay short.
func makeDir(cred *syscall.Credential) (string, error) {
	base := os.TempDir()
	if len(base)+len("/pgtest-0123456789/.s.PGSQL.5432") > maxSocketPath {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return "", fmt.Errorf("creating a server directory failed: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("handing %s to the server's user failed: %w", dir, err)
		}
	}
	return dir, nil
}

// start creates the directory, runs initdb and starts the server. It
// returns the Server whenever there is something to clean up, even with
// an error.
func start(binDir, version string) (*Server, error) {
	cred, userName, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := makeDir(cred)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Version: version, logPath: filepath.Join(dir, "server.log")}
	dataDir := filepath.Join(dir, "data")

	ctx, cancel := context.WithTimeout(context.Background(), initdbTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"--pgdata="+dataDir, "--username="+Superuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = childEnv(binDir)
	initdb.SysProcAttr = childAttr(cred)
	var out bytes.Buffer
	initdb.Stdout = &out
	initdb.Stderr = &out
	if err := initdb.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", initdbTimeout)
		}
		return s, fmt.Errorf("initdb %s (as user %q) failed: %v\n%s",
			dataDir, userName, err, lastLines(out.String(), 20))
	}

	if err := s.run(binDir, dataDir, cred); err != nil {
		return s, err
	}
	if err := s.waitReady(); err != nil {
		return s, fmt.Errorf("%v\nserver log:\n%s", err, s.logTail())
	}
	return s, nil
}

// run starts the postgres process.
func (s *Server) run(binDir, dataDir string, cred *syscall.Credential) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating the server log failed: %w", err)
	}
	defer logFile.Close()
	// Durability settings are off because the data dies with the test.
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", dataDir,
		"-k", s.Dir,
		"-c", "listen_addresses=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=20",
		"-c", "TimeZone=UTC",
		"-c", "logging_collector=off")
	cmd.Dir = s.Dir
	cmd.Env = childEnv(binDir)
	cmd.SysProcAttr = childAttr(cred)
	cmd.Stdout = logFile
	cmd.Stderr = logFile

	// With Pdeathsig the kernel signals the server when the thread that
	// forked it exits, not the process, so that thread stays locked to this
	// goroutine until the server has stopped.
	s.done = make(chan struct{})
	s.release = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		go func() {
			s.waitErr = cmd.Wait()
			close(s.done)
		}()
		<-s.release
	}()
	if err := <-started; err != nil {
		close(s.release)
		s.done = nil
		return fmt.Errorf("starting postgres failed: %w", err)
	}
	s.cmd = cmd
	return nil
}

// waitReady waits until the server accepts a connection.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited during start: %v", s.waitErr)
		default:
		}
		if _, err := os.Stat(filepath.Join(s.Dir, ".s.PGSQL.5432")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), connectAttemptTimeout)
			conn, err := pgx.Connect(ctx, s.ConnString())
			if err == nil {
				err = conn.Ping(ctx)
				conn.Close(ctx)
			}
			cancel()
			if err == nil {
				return nil
			}
			lastErr = err
		}
		select {
		case <-s.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("postgres did not accept connections within %s (last error: %v)",
		startTimeout, lastErr)
}

// stop shuts the server down: a fast shutdown first (SIGINT), which ends
// open sessions, then SIGKILL when that takes longer than stopTimeout.
func (s *Server) stop() error {
	if s.cmd == nil {
		return nil
	}
	defer close(s.release)
	select {
	case <-s.done:
		return fmt.Errorf("postgres had exited before the test ended: %v\nserver log:\n%s",
			s.waitErr, s.logTail())
	default:
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("stopping postgres failed: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("postgres (pid %d) did not exit within %s of SIGKILL",
			s.cmd.Process.Pid, stopTimeout)
	}
	return fmt.Errorf("postgres did not stop within %s of SIGINT and was killed", stopTimeout)
}

func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s failed: %v)", s.logPath, err)
	}
	return lastLines(string(data), 30)
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the environment of initdb and postgres: no PG* variable of
// the caller's leaks in, and messages and sorting use the C locale.
func childEnv(binDir string) []string {
	return []string{
		"PATH=" + binDir + ":/usr/bin:/bin",
		"LC_ALL=C",
		"TZ=UTC",
	}
}
