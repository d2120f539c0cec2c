package atlassian

import (
	"fmt"
	"net/url"
	"strings"
)

// maxPages bounds every list so that an API that keeps sending new
// cursors for empty pages cannot keep a query running forever. At 100
// items a page it allows ten million items.
const maxPages = 100000

// pageTracker ends a list when the response has no next page and rejects a
// next page already seen, which would otherwise loop forever. It does not
// stop on short pages: the Admin API may return fewer items than the
// limit and still send a next page.
type pageTracker struct {
	seen  map[string]bool
	pages int
}

// next records the next-page token of a response and reports whether the
// list continues. An empty token ends the list.
func (p *pageTracker) next(token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[token] {
		return false, ErrRepeatedCursor
	}
	p.pages++
	if p.pages >= maxPages {
		return false, fmt.Errorf("pagination failed: more than %d pages", maxPages)
	}
	p.seen[token] = true
	return true, nil
}

// cursorFromNextURL extracts the cursor of a v1 Admin API links.next,
// which is a whole URL. The client sends the cursor through its own route
// rather than following the URL, so that a credential never goes to a
// host the route table does not name.
func cursorFromNextURL(next string) (string, error) {
	if next == "" {
		return "", nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("invalid links.next: not a URL")
	}
	c := u.Query().Get("cursor")
	if c == "" {
		return "", fmt.Errorf("invalid links.next: the URL has no cursor parameter")
	}
	return c, nil
}

// confluenceNextQuery returns the query of a Confluence v1 _links.next
// (for example "/wiki/rest/api/group?start=50&limit=50"), checking that it
// points to wantPath of the same site. The link is relative to the site
// and already starts with /wiki. A link relative to the /wiki context is
// accepted too, so that /wiki is never doubled or lost.
func confluenceNextQuery(next, wantPath string) (url.Values, error) {
	if next == "" {
		return nil, nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("invalid _links.next: not a URL")
	}
	if u.IsAbs() || u.Host != "" {
		return nil, fmt.Errorf("invalid _links.next: expected a path relative to the site, " +
			"got an absolute URL")
	}
	p := u.Path
	if !strings.HasPrefix(p, "/wiki/") {
		p = "/wiki" + p
	}
	if p != wantPath {
		return nil, fmt.Errorf("invalid _links.next: it points to another API path")
	}
	return u.Query(), nil
}
