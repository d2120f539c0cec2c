package atlassian_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// startEmulatorWith starts an emulator with opts, on the fixed data clock
// of startEmulator.
func startEmulatorWith(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	opts.Now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// apiKeyEmulatorClient builds a client of the API key route to emu.
func apiKeyEmulatorClient(t *testing.T, emu *emulator.Emulator) *atlassian.Client {
	t.Helper()
	info := emu.Info()
	c, err := atlassian.NewClient(atlassian.Options{AdminAPIURL: info.AdminAPIURL,
		APIKey: info.APIKey, OrgID: info.OrgID, OrgRequestsPerMinute: atlassian.NoLimit})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return c
}

func productAccessSearch(resourceIDs []string) atlassian.UserSearch {
	return atlassian.UserSearch{ResourceIDs: resourceIDs, Expand: []string{"productAccess"},
		PageSize: 100}
}

func TestEmulatorPacerSkipsSignIn(t *testing.T) {
	emu := startEmulatorWith(t, emulator.Options{Users: 250, Seed: 2})
	info := emu.Info()
	c := sessionClient(t, info, info.DeadEndAccounts[emulator.DeadEndNoMFA], info.Password)
	var paced atomic.Int64
	ctx := atlassian.WithPacer(testContext(t), func(ctx context.Context) error {
		paced.Add(1)
		return ctx.Err()
	})

	sites, err := c.ConfluenceSites(ctx, info.OrgID)
	if err != nil {
		t.Fatalf("confluence sites: %v", err)
	}
	users := 0
	err = c.SearchUsers(ctx, info.OrgID, atlassian.UserSearch{PageSize: 100},
		func(atlassian.User) bool {
			users++
			return true
		})
	if err != nil {
		t.Fatalf("search users: %v", err)
	}
	if len(sites) == 0 || users != 250 {
		t.Fatalf("%d sites and %d users, want some sites and 250 users", len(sites), users)
	}

	counts := emu.Counts()
	api := counts.Requests[emulator.RouteWorkspaces] + counts.Requests[emulator.RouteUsersSearch]
	// One workspaces page and three search pages.
	if api != 4 {
		t.Errorf("admin hub requests = %d, want 4", api)
	}
	if paced.Load() != api {
		t.Errorf("pacer called %d times for %d admin hub requests", paced.Load(), api)
	}
	if counts.SignIns != 1 || counts.Requests[emulator.RouteAuthenticate] == 0 {
		t.Errorf("sign-ins = %d, authenticate requests = %d, want a sign-in",
			counts.SignIns, counts.Requests[emulator.RouteAuthenticate])
	}
}

func TestEmulatorPacerErrorSendsNothing(t *testing.T) {
	emu := startEmulatorWith(t, emulator.Options{Users: 20})
	c := apiKeyEmulatorClient(t, emu)
	closed := errors.New("limiter closed")
	ctx := atlassian.WithPacer(testContext(t), func(context.Context) error { return closed })
	err := c.SearchUsers(ctx, emu.Info().OrgID, atlassian.UserSearch{},
		func(atlassian.User) bool { return true })
	if !errors.Is(err, closed) {
		t.Fatalf("error %v, want the pacer's error", err)
	}
	if n := emu.Counts().Requests[emulator.RouteUsersSearch]; n != 0 {
		t.Errorf("%d user search requests sent after the pacer failed", n)
	}
}

func TestEmulatorLegacyUserManagement(t *testing.T) {
	emu := startEmulatorWith(t, emulator.Options{Users: 30, LegacyUserManagement: true})
	c := apiKeyEmulatorClient(t, emu)
	ctx := testContext(t)
	orgID := emu.Info().OrgID
	err := c.SearchUsers(ctx, orgID, productAccessSearch(nil), func(atlassian.User) bool {
		t.Error("a user was returned by a rejected search")
		return true
	})
	if !errors.Is(err, atlassian.ErrBulkActivityUnsupported) {
		t.Fatalf("error %v, want ErrBulkActivityUnsupported", err)
	}
	var he *atlassian.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Code != "ADMIN-400-4" {
		t.Errorf("error %v, want it to wrap the HTTPError 400 ADMIN-400-4", err)
	}

	n := 0
	err = c.SearchUsers(ctx, orgID, atlassian.UserSearch{Expand: []string{"groups"}},
		func(atlassian.User) bool {
			n++
			return true
		})
	if err != nil || n != 30 {
		t.Errorf("search without productAccess: %d users, %v; want 30, nil", n, err)
	}
}

func TestEmulatorSearchTimestampPresence(t *testing.T) {
	for _, omit := range []bool{false, true} {
		emu := startEmulatorWith(t, emulator.Options{Users: 400, Seed: 4,
			OmitActivityTimestamps: omit})
		c := apiKeyEmulatorClient(t, emu)
		org := emu.Org()
		var entries, never int
		err := c.SearchUsers(testContext(t), org.ID, productAccessSearch(nil),
			func(u atlassian.User) bool {
				want := org.User(u.AccountID).ActiveGrants()
				if len(u.ProductAccess) != len(want) {
					t.Errorf("omit %v, %s: %d entries, want %d", omit, u.AccountID,
						len(u.ProductAccess), len(want))
					return false
				}
				for i, pa := range u.ProductAccess {
					entries++
					g := want[i]
					if omit {
						if pa.HasTimestamp || pa.LastActive != nil {
							t.Errorf("%s: entry %+v carries a time the answer lacked",
								u.AccountID, pa)
						}
						continue
					}
					if !pa.HasTimestamp {
						t.Errorf("%s: entry %+v lacks HasTimestamp", u.AccountID, pa)
					}
					switch {
					case g.LastActive == nil && pa.LastActive != nil:
						t.Errorf("%s: never-active grant has %v", u.AccountID, pa.LastActive)
					case g.LastActive == nil:
						never++
					case pa.LastActive == nil || !pa.LastActive.Equal(*g.LastActive):
						t.Errorf("%s: last active %v, want %v", u.AccountID, pa.LastActive,
							g.LastActive)
					}
				}
				return true
			})
		if err != nil {
			t.Fatalf("omit %v: search users: %v", omit, err)
		}
		if entries == 0 || (!omit && never == 0) {
			t.Errorf("omit %v: %d entries, %d never active; want both above 0", omit, entries,
				never)
		}
	}
}

func TestEmulatorLastActiveDatesMany(t *testing.T) {
	emu := startEmulatorWith(t, emulator.Options{Users: 120, Seed: 7})
	c := apiKeyEmulatorClient(t, emu)
	org := emu.Org()
	ids := []string{"557058:no-such-user"}
	for _, u := range org.Users {
		ids = append(ids, u.AccountID)
	}
	seen := map[string]bool{}
	err := c.LastActiveDatesMany(testContext(t), org.ID, ids, 0,
		func(id string, la atlassian.LastActive, err error) bool {
			seen[id] = true
			u := org.User(id)
			if u == nil {
				if !errors.Is(err, atlassian.ErrActivityUnknown) {
					t.Errorf("unknown account: error %v, want ErrActivityUnknown", err)
				}
				return true
			}
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return true
			}
			recorded := 0
			for _, g := range u.Grants {
				if g.LastActive == nil {
					continue
				}
				recorded++
				found := false
				for _, p := range la.Products {
					if strings.HasSuffix(g.Workspace.ARI, "/"+p.ID) && p.Key == g.Workspace.TypeKey {
						found = p.LastActive != nil && p.LastActive.Equal(*g.LastActive)
					}
				}
				if !found {
					t.Errorf("%s: no matching date for %s in %+v", id, g.Workspace.ARI, la.Products)
				}
			}
			if recorded != len(la.Products) {
				t.Errorf("%s: %d products, want %d", id, len(la.Products), recorded)
			}
			return true
		})
	if err != nil {
		t.Fatalf("LastActiveDatesMany: %v", err)
	}
	if len(seen) != len(ids) {
		t.Errorf("reported %d accounts, want %d", len(seen), len(ids))
	}
	if n := emu.Counts().Requests[emulator.RouteLastActive]; n != int64(len(ids)) {
		t.Errorf("last-active-dates requests = %d, want %d", n, len(ids))
	}
}
