package atlassian

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBodyBytes bounds the response the client reads, so that a broken proxy
// cannot exhaust memory. The largest Admin API page (100 users with
// product access and groups) is a few hundred kilobytes.
const maxBodyBytes = 64 << 20

// sessionCookie is the cookie that carries an Atlassian session.
const sessionCookie = "cloud.session.token"

// outgoing is one request before the credential is attached.
type outgoing struct {
	route Route
	// routeName overrides route.Endpoint in logs and traces, for the
	// sign-in requests that are not in the route table.
	routeName string
	base      *url.URL
	path      string
	// org is the org id an admin request is counted against by the shared
	// org limiter; empty means the client's resolved org id.
	org      string
	query    url.Values
	body     []byte
	bodyType string
	// cookies go to the identity host only, during sign-in.
	cookies []*http.Cookie
	// session is the cookie value sent with the session credential.
	session string
}

func (o *outgoing) name() string {
	if o.routeName != "" {
		return o.routeName
	}
	return string(o.route.Endpoint)
}

// response is one HTTP response, read whole.
type response struct {
	status      int
	header      http.Header
	contentType string // media type only, lower case
	cookies     []*http.Cookie
	body        []byte
}

func (a *response) isJSON() bool {
	return a.contentType == "application/json" || strings.HasSuffix(a.contentType, "+json")
}

func (a *response) isHTML() bool {
	return a.contentType == "text/html" || a.contentType == "application/xhtml+xml"
}

func (a *response) cookie(name string) (string, bool) {
	for _, c := range a.cookies {
		if c.Name == name && c.Value != "" && c.MaxAge >= 0 {
			return c.Value, true
		}
	}
	return "", false
}

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	return &http.Client{
		Transport: tr,
		// A redirect from an API is never followed: a 302 to the identity
		// host means the session expired, and following any other one
		// could carry a credential to a host the route table does not name.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// send performs o, retrying 429, 5xx and dropped connections when the
// route is safe to retry. Every attempt first waits as pace describes. A
// retryable status that remains after the last attempt is returned as a
// response for the caller to turn into an error.
func (c *Client) send(ctx context.Context, o *outgoing) (*response, error) {
	for attempt := 1; ; attempt++ {
		if err := c.pace(ctx, o); err != nil {
			return nil, err
		}
		res, err := c.exchange(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s request failed: %w", o.name(), ctx.Err())
			}
			if !o.route.SafeToRetry || !retryableNetError(err) || attempt >= maxAttempts {
				return nil, err
			}
		} else if !retryableStatus(res.status) || !o.route.SafeToRetry || attempt >= maxAttempts {
			return res, nil
		}

		wait := backoff(attempt+1, c.jitter)
		status := 0
		if res != nil {
			status = res.status
			if d, ok := retryAfter(res.header, c.now()); ok {
				wait = d
			}
		}
		c.log.Warn("atlassian.retry", "route", o.name(), "attempt", attempt,
			"status", status, "wait", wait.String())
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s request stopped while waiting to retry: %w", o.name(), err)
		}
	}
}

// exchange sends one request and reads the whole response within the
// per-request timeout.
func (c *Client) exchange(ctx context.Context, o *outgoing) (*response, error) {
	u := *o.base
	u.Path = o.base.Path + o.path
	u.RawPath = ""
	u.RawQuery = o.query.Encode()

	var body io.Reader
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, o.route.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s request failed: %w", o.name(), err)
	}
	if o.body != nil {
		req.Header.Set("Content-Type", o.bodyType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "steampipe-plugin-confluence")
	if err := c.attachCredential(req, o); err != nil {
		return nil, err
	}

	ev := TraceEvent{
		Method:         o.route.Method,
		Host:           string(o.route.Host),
		Route:          o.name(),
		Path:           tracePath(o.route.Path, o.query),
		RequestHeaders: headerNames(req.Header),
		RequestCookies: cookieNames(req.Cookies()),
		FormFields:     bodyFieldNames(o.body, o.bodyType),
	}
	c.log.Debug("atlassian.request", "route", o.name(), "method", o.route.Method,
		"host", string(o.route.Host))

	resp, err := c.httpc.Do(req)
	if err != nil {
		err = fmt.Errorf("%s request to the %s host failed: %w", o.name(), o.route.Host,
			unwrapURLError(err))
		ev.Error = err.Error()
		c.emit(ev)
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err == nil && len(data) > maxBodyBytes {
		err = fmt.Errorf("response larger than %d bytes", maxBodyBytes)
	}
	res := &response{
		status:  resp.StatusCode,
		header:  resp.Header,
		cookies: resp.Cookies(),
		body:    data,
	}
	if mt, _, perr := mime.ParseMediaType(resp.Header.Get("Content-Type")); perr == nil {
		res.contentType = strings.ToLower(mt)
	}
	ev.Status = res.status
	ev.ResponseHeaders = headerNames(resp.Header)
	ev.SetCookies = cookieNames(res.cookies)
	ev.ContentType = res.contentType
	if res.isJSON() {
		if sk, ok := jsonSkeleton(data); ok {
			ev.Skeleton = sk
		}
	}
	if err != nil {
		err = fmt.Errorf("%s request to the %s host failed while reading the response: %w",
			o.name(), o.route.Host, unwrapURLError(err))
		ev.Error = err.Error()
		c.emit(ev)
		return nil, err
	}
	c.emit(ev)
	c.log.Debug("atlassian.response", "route", o.name(), "status", res.status,
		"content_type", res.contentType)

	if o.route.Credential == CredentialSession && c.sess != nil {
		if tok, ok := res.cookie(sessionCookie); ok && tok != o.session {
			c.sess.refreshed(o.session, tok)
		}
	}
	return res, nil
}

// attachCredential adds the route's credential, after checking that the
// route's host takes it.
func (c *Client) attachCredential(req *http.Request, o *outgoing) error {
	cred := o.route.Credential
	if cred == "" {
		if o.route.Host != HostIdentity {
			return fmt.Errorf("%s request has no credential for the %s host", o.name(),
				o.route.Host)
		}
		for _, ck := range o.cookies {
			req.AddCookie(ck)
		}
		return nil
	}
	if !credentialAllowed(cred, o.route.Host) {
		return fmt.Errorf("%s request rejected: the %s credential is never sent to the %s host",
			o.name(), cred, o.route.Host)
	}
	switch cred {
	case CredentialSession:
		if o.session == "" {
			return fmt.Errorf("%s request failed: no session", o.name())
		}
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: o.session})
	case CredentialAPIKey:
		req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	case CredentialAPIToken:
		basic := base64.StdEncoding.EncodeToString([]byte(c.opts.Email + ":" + c.opts.APIToken))
		req.Header.Set("Authorization", "Basic "+basic)
	default:
		return fmt.Errorf("%s request failed: unknown credential %s", o.name(), cred)
	}
	return nil
}

func (c *Client) emit(ev TraceEvent) {
	if c.opts.Trace != nil {
		c.opts.Trace(ev)
	}
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// whole URL, query included.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sessionExpiredResponse reports whether res is how the admin hub or a site
// rejects an expired session: 401, a redirect to the identity host or a
// sign-in page, or a 200 HTML page where JSON was expected.
func (c *Client) sessionExpiredResponse(res *response) bool {
	switch {
	case res.status == http.StatusUnauthorized:
		return true
	case res.status >= 300 && res.status <= 399:
		loc, err := url.Parse(res.header.Get("Location"))
		if err != nil {
			return false
		}
		return strings.EqualFold(loc.Host, c.identity.Host) ||
			strings.Contains(loc.Path, "/login")
	case res.status >= 200 && res.status <= 299:
		return res.isHTML()
	}
	return false
}

// decodeResponse turns a 2xx JSON response into out and anything else into an
// *HTTPError that names the status, route and content type but never
// quotes the body.
func (c *Client) decodeResponse(o *outgoing, res *response, out any) error {
	herr := &HTTPError{
		Method: o.route.Method, Route: o.name(), Host: string(o.route.Host),
		Status: res.status, ContentType: res.contentType,
	}
	if res.status < 200 || res.status > 299 {
		if res.isJSON() {
			herr.Code = errorCode(res.body)
		}
		herr.Problem = statusProblem(o.route, res)
		return herr
	}
	if res.isHTML() {
		herr.Problem = "the response is an HTML page, expected JSON"
		return herr
	}
	if !res.isJSON() {
		herr.Problem = "expected a JSON response"
		return herr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		herr.Problem = "the JSON response does not have the expected shape (" +
			jsonErrorText(err) + "); run `steampipe-plugin-confluence doctor` and " +
			"compare its output with docs/wire-format.md"
		return herr
	}
	return nil
}

// jsonErrorText describes a decoding error by type and field, dropping
// any quoted value.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s is a JSON %s, expected %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return "invalid JSON"
}

func statusProblem(r Route, res *response) string {
	switch {
	case res.status >= 300 && res.status <= 399:
		return "redirects are not followed"
	case res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
		switch r.Credential {
		case CredentialAPIKey:
			return "the API key was rejected or lacks access (check api_key and org_id)"
		case CredentialAPIToken:
			return "the API token was rejected or lacks access " +
				"(check email, api_token and that the account can use this site)"
		default:
			return "access denied (check that the account administers this org or site)"
		}
	case res.status == http.StatusNotFound:
		return "not found (check org_id and sites)"
	case res.status == http.StatusTooManyRequests:
		return "rate limited after all retries"
	case res.status >= 500:
		return "server error after all retries"
	}
	return "unexpected status"
}

// errorCode returns the error code of a JSON error response, if it has one.
func errorCode(body []byte) string {
	var e struct {
		ErrorCode string `json:"errorCode"`
		Code      any    `json:"code"`
		Errors    []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	code := ""
	switch {
	case e.ErrorCode != "":
		code = e.ErrorCode
	case e.Code != nil:
		if s, ok := e.Code.(string); ok {
			code = s
		}
		if f, ok := e.Code.(float64); ok {
			code = fmt.Sprint(f)
		}
	case len(e.Errors) > 0:
		code = e.Errors[0].Code
	}
	// Only a short identifier is kept, so that an error message never
	// carries free text from the body.
	if len(code) > 64 || !validID(code) {
		return ""
	}
	return code
}
