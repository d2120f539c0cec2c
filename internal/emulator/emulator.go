package emulator

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits of Options.Users.
const (
	MinUsers = 10
	MaxUsers = 100000
)

// DefaultSessionRefreshAfter is the default of Options.SessionRefreshAfter.
const DefaultSessionRefreshAfter = 600 * time.Second

// Options configures an Emulator.
type Options struct {
	Users int       // accounts in the org, MinUsers..MaxUsers
	Seed  int64     // with Now, determines the generated org
	Now   time.Time // data clock; zero means time.Now() at New, truncated to the second

	Host             string // bind address; "" means 127.0.0.1
	AllowNonLoopback bool   // allow a Host that is not a loopback address

	// Port is the port of the control host, whose base URL is Info.URL.
	// Zero means a free port. The other hosts always take free ports.
	Port int

	// SessionRefreshAfter is how long after its creation a session token
	// gets a refreshed token in a Set-Cookie. Zero means
	// DefaultSessionRefreshAfter.
	SessionRefreshAfter time.Duration

	// Logger receives one access-log line per request: method, path and
	// status, never a query, header or body. Nil disables the log.
	Logger io.Writer

	// RateLimitPerMinute limits the requests of the org's admin hub and
	// Admin API routes, both hosts together, to this many a minute; 0
	// means no limit. The limit is a token bucket of RateLimitBurst
	// tokens that starts full and refills continuously, so a burst of
	// that many requests passes at once. Requests over it get 429 with
	// Retry-After and X-RateLimit-Reset. Only requests that pass the
	// credential check take a token; sign-in and site requests take none.
	RateLimitPerMinute int
	// RateLimitBurst is the size of that bucket. 0 means
	// RateLimitPerMinute, one minute's requests.
	RateLimitBurst int

	// LegacyUserManagement puts the org on the original user management
	// experience: a v2 user search that expands productAccess gets 400
	// with error code ADMIN-400-4.
	LegacyUserManagement bool

	// OmitActivityTimestamps leaves the lastActiveTimestamp key out of
	// every productAccess entry of the v2 user search, as a tenant whose
	// search does not report activity would. The last-active-dates
	// endpoint still reports it.
	OmitActivityTimestamps bool
}

// Info describes a running emulator: its URLs, credentials and data
// sizes. The emulator command prints it as its first stdout line.
type Info struct {
	URL             string            `json:"url"`
	IdentityURL     string            `json:"identity_url"`
	AdminHubURL     string            `json:"admin_hub_url"`
	AdminAPIURL     string            `json:"admin_api_url"`
	OrgID           string            `json:"org_id"`
	OrgName         string            `json:"org_name"`
	DirectoryID     string            `json:"directory_id"`
	Email           string            `json:"email"`
	Password        string            `json:"password"`
	TOTPSecret      string            `json:"totp_secret"`
	APIKey          string            `json:"api_key"`
	APIToken        string            `json:"api_token"`
	Users           int               `json:"users"`
	ConfluenceUsers int               `json:"confluence_users"`
	Seed            int64             `json:"seed"`
	Now             time.Time         `json:"now"`
	Sites           []SiteInfo        `json:"sites"`
	DeadEndAccounts map[string]string `json:"dead_end_accounts"`
	// Config is the body of a Steampipe connection block that signs in to
	// the emulator by the session route.
	Config string `json:"config"`
}

// SiteInfo describes one site of Info.
type SiteInfo struct {
	CloudID  string   `json:"cloud_id"`
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Edition  string   `json:"edition"`
	Sandbox  bool     `json:"sandbox"`
	Products []string `json:"products"`
}

// Counts are the emulator's counters since it started.
type Counts struct {
	SignIns                int64            `json:"sign_ins"`         // sessions issued
	SignInAttempts         int64            `json:"sign_in_attempts"` // authenticate requests
	CodesRejected          int64            `json:"codes_rejected"`
	Requests               map[string]int64 `json:"requests"` // route key → requests
	WritesAttempted        int64            `json:"writes_attempted"`
	MisdirectedCredentials int64            `json:"misdirected_credentials"`
	// RateLimited counts 429 responses: those of the rate limit and those
	// injected by Faults.RateLimited.
	RateLimited int64 `json:"rate_limited"`
	// AdminRequests counts the admin hub and Admin API requests that
	// passed the credential check: the requests the rate limit applies
	// to, those it rejected included.
	AdminRequests int64 `json:"admin_requests"`
}

// credentials are the secrets of one emulator run.
type credentials struct {
	password   string
	totpSecret string
	apiKey     string
	apiToken   string
}

// Emulator serves one generated org. Its methods are safe for concurrent use.
type Emulator struct {
	opts  Options
	org   *Org
	creds credentials
	key   []byte // signs session tokens and list cursors

	byEmail   map[string]*User  // lower-case e-mail → admin or dead-end account
	deadEndOf map[string]string // account id → dead-end kind

	logMu sync.Mutex

	mu          sync.Mutex
	started     bool
	closed      bool
	servers     []*http.Server
	controlURL  string
	identityURL string
	adminHubURL string
	adminAPIURL string
	faults      Faults
	counts      Counts
	sessions    map[string]*session
	xsrfTokens  map[string]bool
	challenges  map[string]*challenge
	accounts    map[string]*accountState
	conns       connTracker
	limiter     *rateLimiter    // nil without Options.RateLimitPerMinute
	withheld    map[string]bool // cloud ids whose billing data WithholdBilling hid
	// clock is the wall clock of the rate limit, replaced in tests.
	clock func() time.Time
}

// New validates opts and generates the org. It opens no port: Start does.
func New(opts Options) (*Emulator, error) {
	if opts.Users < MinUsers || opts.Users > MaxUsers {
		return nil, fmt.Errorf("invalid Users %d: must be between %d and %d",
			opts.Users, MinUsers, MaxUsers)
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if !opts.AllowNonLoopback && !isLoopback(opts.Host) {
		return nil, fmt.Errorf("invalid Host %q: not a loopback address; "+
			"use 127.0.0.1 or ::1, or set AllowNonLoopback to serve other hosts", opts.Host)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("invalid Port %d: must be between 0 (a free port) and 65535", opts.Port)
	}
	if opts.SessionRefreshAfter < 0 {
		return nil, fmt.Errorf("invalid SessionRefreshAfter %s: must be >= 0", opts.SessionRefreshAfter)
	}
	if opts.RateLimitPerMinute < 0 {
		return nil, fmt.Errorf("invalid RateLimitPerMinute %d: must be >= 0 (0 means no limit)",
			opts.RateLimitPerMinute)
	}
	if opts.RateLimitBurst < 0 || opts.RateLimitBurst > 0 && opts.RateLimitPerMinute == 0 {
		return nil, fmt.Errorf("invalid RateLimitBurst %d: must be >= 0, and set only with "+
			"RateLimitPerMinute", opts.RateLimitBurst)
	}
	if opts.SessionRefreshAfter == 0 {
		opts.SessionRefreshAfter = DefaultSessionRefreshAfter
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now().Truncate(time.Second)
	}
	opts.Now = opts.Now.UTC()

	creds, key, err := newCredentials()
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts:       opts,
		org:        generateOrg(opts.Users, opts.Seed, opts.Now),
		creds:      creds,
		key:        key,
		byEmail:    make(map[string]*User),
		deadEndOf:  make(map[string]string),
		counts:     Counts{Requests: make(map[string]int64)},
		sessions:   make(map[string]*session),
		xsrfTokens: make(map[string]bool),
		challenges: make(map[string]*challenge),
		accounts:   make(map[string]*accountState),
		clock:      time.Now,
	}
	if opts.RateLimitPerMinute > 0 {
		e.limiter = newRateLimiter(opts.RateLimitPerMinute, opts.RateLimitBurst, e.clock())
	}
	e.byEmail[strings.ToLower(e.org.Admin.Email)] = e.org.Admin
	for kind, u := range e.org.DeadEnds {
		e.byEmail[strings.ToLower(u.Email)] = u
		e.deadEndOf[u.AccountID] = kind
	}
	return e, nil
}

func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newCredentials() (credentials, []byte, error) {
	const alnum = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var c credentials
	var err error
	if c.password, err = randomString(alnum+"-_.!", 24); err != nil {
		return c, nil, err
	}
	secret := make([]byte, 20)
	if _, err = rand.Read(secret); err != nil {
		return c, nil, fmt.Errorf("failed to generate the TOTP secret: %w", err)
	}
	c.totpSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	if c.apiKey, err = randomString(alnum, 64); err != nil {
		return c, nil, err
	}
	c.apiKey = "ATCTT3xFfGN0" + c.apiKey
	if c.apiToken, err = randomString(alnum, 48); err != nil {
		return c, nil, err
	}
	c.apiToken = "ATATT3xFfGF0" + c.apiToken
	key := make([]byte, 32)
	if _, err = rand.Read(key); err != nil {
		return c, nil, fmt.Errorf("failed to generate the signing key: %w", err)
	}
	return c, key, nil
}

func randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to read random bytes: %w", err)
	}
	for i := range b {
		// The modulo bias is irrelevant for throwaway test credentials.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// Org returns the generated data. Callers must not modify it.
func (e *Emulator) Org() *Org { return e.org }

// Start opens one listener per host on Options.Host and serves them until
// Close. It fails when called twice or after Close.
func (e *Emulator) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.closed {
		return errors.New("failed to start the emulator: already started or closed; use a new one")
	}

	type pending struct {
		name    string
		ln      net.Listener
		handler http.Handler
		setURL  func(string)
	}
	var all []pending
	listen := func(name string, port int, setURL func(string)) error {
		addr := net.JoinHostPort(strings.Trim(e.opts.Host, "[]"), strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, p := range all {
				_ = p.ln.Close()
			}
			return fmt.Errorf("failed to listen for the %s host on %s: %w", name, addr, err)
		}
		all = append(all, pending{name: name, ln: ln, setURL: setURL})
		return nil
	}
	if err := listen("control", e.opts.Port, func(u string) { e.controlURL = u }); err != nil {
		return err
	}
	if err := listen("identity", 0, func(u string) { e.identityURL = u }); err != nil {
		return err
	}
	if err := listen("admin hub", 0, func(u string) { e.adminHubURL = u }); err != nil {
		return err
	}
	if err := listen("Admin API", 0, func(u string) { e.adminAPIURL = u }); err != nil {
		return err
	}
	for _, s := range e.org.Sites {
		if err := listen("site "+s.Name, 0, func(u string) { s.URL = u }); err != nil {
			return err
		}
	}
	for _, p := range all {
		p.setURL("http://" + p.ln.Addr().String())
	}

	all[0].handler = e.controlHandler()
	all[1].handler = e.identityHandler()
	all[2].handler = e.adminHandler(hostAdminHub)
	all[3].handler = e.adminHandler(hostAdminAPI)
	for i, s := range e.org.Sites {
		all[4+i].handler = e.siteHandler(s)
	}
	for _, p := range all {
		srv := &http.Server{
			Handler:           e.accessLog(p.handler),
			ReadHeaderTimeout: 10 * time.Second,
			ConnState:         e.conns.track,
		}
		e.servers = append(e.servers, srv)
		go func() { _ = srv.Serve(p.ln) }()
	}
	e.started = true
	return nil
}

// Close stops every listener and waits up to 2 s for responses in progress.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	servers := e.servers
	e.mu.Unlock()

	e.conns.closeFresh()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			// Slow responses are still in progress, so cut them off.
			_ = srv.Close()
			if !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Info returns the URLs, credentials and sizes. URLs are empty before Start.
func (e *Emulator) Info() Info {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.org
	info := Info{
		URL:             e.controlURL,
		IdentityURL:     e.identityURL,
		AdminHubURL:     e.adminHubURL,
		AdminAPIURL:     e.adminAPIURL,
		OrgID:           o.ID,
		OrgName:         o.Name,
		DirectoryID:     o.DirectoryID,
		Email:           o.Admin.Email,
		Password:        e.creds.password,
		TOTPSecret:      e.creds.totpSecret,
		APIKey:          e.creds.apiKey,
		APIToken:        e.creds.apiToken,
		Users:           len(o.Users),
		ConfluenceUsers: o.ConfluenceUsers(),
		Seed:            e.opts.Seed,
		Now:             e.opts.Now,
		DeadEndAccounts: make(map[string]string, len(o.DeadEnds)),
	}
	for _, s := range o.Sites {
		si := SiteInfo{CloudID: s.CloudID, Name: s.Name, URL: s.URL, Edition: s.Edition,
			Sandbox: s.Sandbox, Products: []string{}}
		for _, w := range s.Workspaces {
			si.Products = append(si.Products, w.TypeKey)
		}
		info.Sites = append(info.Sites, si)
	}
	for kind, u := range o.DeadEnds {
		info.DeadEndAccounts[kind] = u.Email
	}
	info.Config = strings.Join([]string{
		"email = " + strconv.Quote(info.Email),
		"password = " + strconv.Quote(info.Password),
		"totp_secret = " + strconv.Quote(info.TOTPSecret),
		"identity_url = " + strconv.Quote(info.IdentityURL),
		"admin_hub_url = " + strconv.Quote(info.AdminHubURL),
		"admin_api_url = " + strconv.Quote(info.AdminAPIURL),
	}, "\n") + "\n"
	return info
}

// Counts returns a copy of the counters.
func (e *Emulator) Counts() Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.counts
	c.Requests = maps.Clone(e.counts.Requests)
	return c
}

// ResetCounts sets every counter back to zero.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = Counts{Requests: make(map[string]int64)}
}

// SetFaults replaces the injected faults. With ExpireSessions set, every
// session issued so far becomes invalid at once. Invalid values act as
// their zero value; Faults.Validate reports them.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.ExpireSessions {
		for _, s := range e.sessions {
			s.expired = true
		}
	}
	e.faults = f
}

// Faults returns the faults in force, with their counters as they are now.
func (e *Emulator) Faults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults
}

func (e *Emulator) countRequest(key string) {
	e.mu.Lock()
	e.counts.Requests[key]++
	e.mu.Unlock()
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's Flusher.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// accessLog writes method, path and status only: queries can carry
// cursors and e-mail search terms, and headers carry credentials.
func (e *Emulator) accessLog(next http.Handler) http.Handler {
	if e.opts.Logger == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		e.logMu.Lock()
		defer e.logMu.Unlock()
		fmt.Fprintf(e.opts.Logger, "%s %s %d\n", r.Method, r.URL.Path, rec.status)
	})
}
