package emulator

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Site layout of every generated org. Indexes into siteSpecs are used
// below to give users access on particular sites.
const (
	siteStandard = iota
	sitePremium
	siteEnterprise
	siteFree
	siteSandbox
	siteJiraOnly
	siteCount
)

type siteSpec struct {
	suffix     string
	title      string
	edition    string
	sandbox    bool
	confluence bool
	jira       bool
}

var siteSpecs = [siteCount]siteSpec{
	siteStandard:   {"", "", EditionStandard, false, true, true},
	sitePremium:    {"-eng", " Engineering", EditionPremium, false, true, true},
	siteEnterprise: {"-corp", " Corporate", EditionEnterprise, false, true, false},
	siteFree:       {"-lab", " Lab", EditionFree, false, true, false},
	siteSandbox:    {"-sandbox", " Sandbox", EditionPremium, true, true, false},
	siteJiraOnly:   {"-tracker", " Tracker", "", false, false, true},
}

// freeSiteMaxUsers is the user limit of the Confluence Free plan; the
// generator stays below it.
const freeSiteMaxUsers = 10

// seatTiers are the user tiers Atlassian sells Confluence and Jira in.
var seatTiers = []int64{10, 25, 50, 100, 200, 250, 300, 400, 500, 600, 800, 1000, 1200,
	1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000, 15000, 20000, 25000, 30000, 35000,
	40000, 45000, 50000, 60000, 70000, 80000, 90000, 100000, 150000}

const day = 24 * time.Hour

type generator struct {
	rng    *rand.Rand
	now    time.Time
	org    *Org
	emails map[string]int // local@domain → times used, to keep addresses unique

	conf     [siteCount]*Workspace // Confluence workspace per site index, or nil
	jira     [siteCount]*Workspace
	product  map[*Workspace]*Group
	siteRank map[*Site]int
	freeLeft int
	freeRate float64

	allStaff, engineering, finance, contractors, designGuild, siteAdmins *Group
}

// generateOrg builds the org for users accounts. The same seed and now
// always give the same org, because every random value comes from one
// generator seeded by both and no map is iterated.
func generateOrg(users int, seed int64, now time.Time) *Org {
	g := &generator{
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(now.Unix()))),
		now:      now.UTC(),
		emails:   make(map[string]int, users),
		product:  make(map[*Workspace]*Group),
		siteRank: make(map[*Site]int),
		// The admin takes one Free-site seat; one more stays free.
		freeLeft: freeSiteMaxUsers - 2,
	}
	g.freeRate = max(0.01, 16/float64(users))
	co := companies[g.rng.IntN(len(companies))]
	o := &Org{
		ID:            g.uuid(),
		Name:          co.name,
		Domain:        co.slug + ".example",
		DirectoryID:   g.uuid(),
		DirectoryName: co.name,
		Now:           g.now,
		DeadEnds:      make(map[string]*User, len(DeadEndKinds)),
		Users:         make([]*User, 0, users),
	}
	g.org = o
	g.buildSites(co)
	g.buildGroups()

	o.Admin = g.specialUser("admin", []string{"org-admin"})
	for _, kind := range DeadEndKinds {
		roles := []string{}
		if kind == DeadEndNoMFA {
			// An org admin, so that a session from this account can be used.
			roles = []string{"org-admin"}
		}
		o.DeadEnds[kind] = g.specialUser(strings.ReplaceAll(kind, "_", "."), roles)
	}
	for len(o.Users) < users {
		g.regularUser()
	}
	g.setUsage()
	o.index()
	return o
}

func (g *generator) buildSites(co company) {
	o := g.org
	for i, spec := range siteSpecs {
		s := &Site{
			CloudID: g.uuid(),
			Name:    co.slug + spec.suffix,
			Title:   co.name + spec.title,
			Edition: spec.edition,
			Sandbox: spec.sandbox,
		}
		g.siteRank[s] = i
		if spec.confluence {
			g.conf[i] = g.addWorkspace(s, ProductConfluence)
		}
		if spec.jira {
			g.jira[i] = g.addWorkspace(s, ProductJira)
		}
		o.Sites = append(o.Sites, s)
	}
}

func (g *generator) addWorkspace(s *Site, typeKey string) *Workspace {
	w := &Workspace{
		Site:    s,
		ARI:     "ari:cloud:" + typeKey + "::site/" + s.CloudID,
		TypeKey: typeKey,
		Status:  "online",
	}
	s.Workspaces = append(s.Workspaces, w)
	g.org.Workspaces = append(g.org.Workspaces, w)
	return w
}

func (g *generator) buildGroups() {
	newGroup := func(name, description string) *Group {
		grp := &Group{ID: g.uuid(), Name: name, Description: description,
			ManagementSource: GroupManagedByAdmin}
		g.org.Groups = append(g.org.Groups, grp)
		return grp
	}
	for _, w := range g.org.Workspaces {
		var name, desc string
		if w.TypeKey == ProductConfluence {
			name = "confluence-users-" + w.Site.Name
			desc = "Grants access to Confluence on " + w.Site.Name
		} else {
			name = "jira-software-users-" + w.Site.Name
			desc = "Grants access to Jira on " + w.Site.Name
		}
		g.product[w] = newGroup(name, desc)
	}
	g.siteAdmins = newGroup("site-admins", "Site administrators of every site")
	g.allStaff = newGroup("all-staff", "Every employee account")
	g.engineering = newGroup("engineering", "Engineering department")
	g.engineering.ManagementSource = GroupSyncedByIdP
	g.finance = newGroup("finance", "Finance and procurement")
	g.finance.ManagementSource = GroupSyncedByIdP
	g.contractors = newGroup("contractors", "External contractors")
	g.designGuild = newGroup("design-guild", "")
}

// specialUser adds the admin or a dead-end account: an active managed
// account with a fixed e-mail local part.
func (g *generator) specialUser(local string, roles []string) *User {
	o := g.org
	person := g.personName()
	u := &User{
		AccountID:        g.atlassianID(),
		AccountType:      AccountAtlassian,
		Status:           "active",
		AccountStatus:    "active",
		MembershipStatus: "active",
		ClaimStatus:      "managed",
		Name:             person.name,
		Nickname:         person.nickname,
		Email:            g.uniqueEmail(local, o.Domain),
		EmailVerified:    true,
		MFAEnabled:       local == "admin",
		PlatformRoles:    roles,
		AddedToOrg:       g.now.Add(-3 * 365 * day).Truncate(time.Millisecond),
	}
	if local == "admin" {
		for i := range siteSpecs {
			g.grantRecent(u, g.conf[i])
			g.grantRecent(u, g.jira[i])
		}
		g.join(u, g.siteAdmins)
	} else {
		g.grantRecent(u, g.conf[siteStandard])
	}
	g.join(u, g.allStaff)
	g.addUser(u)
	return u
}

func (g *generator) grantRecent(u *User, w *Workspace) {
	if w == nil {
		return
	}
	t := g.now.Add(-time.Duration(g.rng.Int64N(int64(3 * day)))).Truncate(time.Millisecond)
	u.Grants = append(u.Grants, Grant{Workspace: w, LastActive: &t, Encoding: EncodeISOMillisUTC})
}

func (g *generator) regularUser() {
	r := g.rng.Float64()
	switch {
	case r < 0.01:
		g.appUser()
	case r < 0.05:
		g.customerUser()
	default:
		g.personUser()
	}
}

func (g *generator) appUser() {
	name := appNames[g.rng.IntN(len(appNames))]
	u := &User{
		AccountID:        "557058:" + g.uuid(),
		AccountType:      AccountApp,
		Status:           "active",
		AccountStatus:    "active",
		MembershipStatus: "active",
		ClaimStatus:      "unmanaged",
		Name:             name,
		Nickname:         name,
		PlatformRoles:    []string{},
		AddedToOrg:       g.addedToOrg(),
	}
	g.grant(u, g.conf[siteStandard], g.chance(0.8), false)
	g.grant(u, g.conf[sitePremium], g.chance(0.5), false)
	g.grant(u, g.jira[siteStandard], g.chance(0.4), false)
	g.addUser(u)
}

func (g *generator) customerUser() {
	person := g.personName()
	domain := customerDomains[g.rng.IntN(len(customerDomains))]
	u := &User{
		AccountID:        "qm:" + g.uuid() + ":" + g.uuid(),
		AccountType:      AccountCustomer,
		Status:           "active",
		AccountStatus:    "active",
		MembershipStatus: "active",
		ClaimStatus:      "unmanaged",
		Name:             person.name,
		Nickname:         person.nickname,
		Email:            g.uniqueEmail(person.emailLocal, domain),
		EmailVerified:    g.chance(0.7),
		PlatformRoles:    []string{},
		AddedToOrg:       g.addedToOrg(),
	}
	g.addUser(u)
}

func (g *generator) personUser() {
	person := g.personName()
	managed := g.chance(0.8)
	domain := g.org.Domain
	if !managed {
		domain = externalDomains[g.rng.IntN(len(externalDomains))]
	}
	u := &User{
		AccountID:        g.atlassianID(),
		AccountType:      AccountAtlassian,
		MembershipStatus: "active",
		AccountStatus:    "active",
		ClaimStatus:      "unmanaged",
		Name:             person.name,
		Nickname:         person.nickname,
		Email:            g.uniqueEmail(person.emailLocal, domain),
		EmailVerified:    g.chance(0.95),
		MFAEnabled:       g.chance(0.35),
		PlatformRoles:    []string{},
		AddedToOrg:       g.addedToOrg(),
	}
	if managed {
		u.ClaimStatus = "managed"
		u.MFAEnabled = g.chance(0.75)
	}
	g.setStatus(u)
	if !managed && u.Status == "active" && g.chance(0.12) {
		u.Guest = true
	}
	if !managed && !u.Guest && g.chance(0.3) {
		u.Email = ""
	}
	if g.chance(0.003) {
		u.PlatformRoles = []string{"user-access-admin"}
	}

	switch {
	case u.Guest:
		site := siteStandard
		if g.chance(0.5) {
			site = sitePremium
		}
		g.grant(u, g.conf[site], true, false)
	case u.Status == "active" || u.Status == "suspended":
		g.personGrants(u)
	}
	if u.Status == "suspended" {
		for i := range u.Grants {
			u.Grants[i].Suspended = true
		}
	}
	g.personGroups(u, managed)
	g.addUser(u)
}

func (g *generator) setStatus(u *User) {
	r := g.rng.Float64()
	switch {
	case r < 0.85:
		u.Status = "active"
	case r < 0.91:
		u.Status = "suspended"
	case r < 0.97:
		u.Status = "deactivated"
		u.AccountStatus = "inactive"
		u.MembershipStatus = "inactive"
		if g.chance(0.2) {
			u.AccountStatus = "closed"
		}
	case r < 0.99:
		u.Status = "not_invited"
		u.EmailVerified = false
	default:
		u.Status = "for_deletion"
		u.AccountStatus = "closed"
		u.MembershipStatus = "inactive"
	}
	if u.Status == "deactivated" || u.Status == "for_deletion" {
		span := g.now.Sub(u.AddedToOrg)
		t := u.AddedToOrg.Add(time.Duration(g.rng.Int64N(int64(span) + 1))).Truncate(time.Millisecond)
		u.DeactivatedOn = &t
	}
}

// personGrants gives an employee a realistic product mix: most have
// Confluence on the Standard site, fewer on Premium and Enterprise, some
// only Jira, some nothing, a few only the sandbox.
func (g *generator) personGrants(u *User) {
	r := g.rng.Float64()
	switch {
	case r < 0.07:
		g.grant(u, g.jira[siteStandard], g.chance(0.6), false)
		g.grant(u, g.jira[sitePremium], g.chance(0.3), false)
		if !g.grant(u, g.jira[siteJiraOnly], g.chance(0.4), false) && len(u.Grants) == 0 {
			g.grant(u, g.jira[siteJiraOnly], true, false)
		}
	case r < 0.12:
		// No product access at all.
	case r < 0.135:
		g.grant(u, g.conf[siteSandbox], true, false)
		g.grant(u, g.jira[siteStandard], g.chance(0.3), false)
	default:
		std := g.grant(u, g.conf[siteStandard], g.chance(0.75), false)
		prem := g.grant(u, g.conf[sitePremium], g.chance(0.35), false)
		ent := g.grant(u, g.conf[siteEnterprise], g.chance(0.15), false)
		if !std && !prem && !ent {
			g.grant(u, g.conf[siteStandard], true, false)
		}
		g.grant(u, g.conf[siteSandbox], g.chance(0.08), false)
		g.grant(u, g.jira[siteStandard], g.chance(0.45), false)
		g.grant(u, g.jira[sitePremium], g.chance(0.25), false)
		g.grant(u, g.jira[siteJiraOnly], g.chance(0.15), false)
	}
	if g.freeLeft > 0 && g.chance(g.freeRate) {
		g.freeLeft--
		g.grant(u, g.conf[siteFree], true, false)
	}
	sortGrants(u.Grants, g.siteRank)

	// Suspend one of several production Confluence grants now and then, so
	// that some users keep access on one site while suspended on another.
	var prod []int
	for i, gr := range u.Grants {
		if gr.Workspace.TypeKey == ProductConfluence && !gr.Workspace.Site.Sandbox {
			prod = append(prod, i)
		}
	}
	if (len(prod) >= 2 && g.chance(0.08)) || (len(prod) == 1 && g.chance(0.01)) {
		u.Grants[prod[g.rng.IntN(len(prod))]].Suspended = true
	}
}

func (g *generator) personGroups(u *User, managed bool) {
	if managed {
		g.join(u, g.allStaff)
		if g.chance(0.04) {
			g.join(u, g.finance)
		}
	} else if !u.Guest && g.chance(0.5) {
		g.join(u, g.contractors)
	}
	if u.Grant(g.conf[sitePremium].ARI) != nil && g.chance(0.5) {
		g.join(u, g.engineering)
	}
	if g.chance(0.02) {
		g.join(u, g.designGuild)
	}
	if u.Status == "active" && managed && g.chance(0.002) {
		g.join(u, g.siteAdmins)
	}
}

// grant adds a grant on w when ok, with generated activity, and reports
// whether it did.
func (g *generator) grant(u *User, w *Workspace, ok, suspended bool) bool {
	if !ok || w == nil || u.Grant(w.ARI) != nil {
		return false
	}
	last, enc := g.activity(u.AddedToOrg)
	u.Grants = append(u.Grants, Grant{Workspace: w, LastActive: last, Encoding: enc, Suspended: suspended})
	return true
}

// activity draws a last-active time: mostly recent, some 30 to 90 days
// old, some older than 90 days, some never. It is never before added.
func (g *generator) activity(added time.Time) (*time.Time, TimeEncoding) {
	enc := EncodeISOMillisUTC
	switch r := g.rng.Float64(); {
	case r < 0.15:
		enc = EncodeISOSecondsUTC
	case r < 0.30:
		enc = EncodeISOOffset
	case r < 0.45:
		enc = EncodeEpochMillis
	}
	var lo, hi time.Duration
	switch r := g.rng.Float64(); {
	case r < 0.10:
		return nil, enc
	case r < 0.65:
		lo, hi = 0, 30*day
	case r < 0.80:
		lo, hi = 30*day, 90*day
	default:
		lo, hi = 90*day, 730*day
	}
	t := g.now.Add(-(lo + time.Duration(g.rng.Int64N(int64(hi-lo)))))
	if t.Before(added) {
		t = added.Add(time.Duration(g.rng.Int64N(int64(g.now.Sub(added)) + 1)))
	}
	switch enc {
	case EncodeISOSecondsUTC, EncodeISOOffset:
		t = t.Truncate(time.Second)
	default:
		t = t.Truncate(time.Millisecond)
	}
	if t.Before(added) {
		t = added
	}
	return &t, enc
}

func (g *generator) addedToOrg() time.Time {
	span := int64(3 * 365 * day)
	return g.now.Add(-time.Duration(g.rng.Int64N(span))).Truncate(time.Millisecond)
}

func (g *generator) join(u *User, grp *Group) {
	if u.InGroup(grp) {
		return
	}
	u.Groups = append(u.Groups, grp)
	grp.Members = append(grp.Members, u)
}

// addUser appends u and adds it to the product group of each grant,
// suspended grants included.
func (g *generator) addUser(u *User) {
	sortGrants(u.Grants, g.siteRank)
	for _, gr := range u.Grants {
		g.join(u, g.product[gr.Workspace])
	}
	g.org.Users = append(g.org.Users, u)
}

// setUsage fills capacity and usage. The sandbox and the Jira-only site
// show how the Admin API omits them: the sandbox has usage only, the
// Jira-only site neither.
func (g *generator) setUsage() {
	counts := make(map[*Workspace]int64)
	for _, u := range g.org.Users {
		if u.AccountType != AccountAtlassian || u.Guest {
			continue
		}
		for _, gr := range u.Grants {
			if !gr.Suspended {
				counts[gr.Workspace]++
			}
		}
	}
	for _, w := range g.org.Workspaces {
		if w.Site == g.jira[siteJiraOnly].Site {
			continue
		}
		usage := counts[w]
		w.Usage = &usage
		if w.Site.Sandbox {
			continue
		}
		capacity := int64(freeSiteMaxUsers)
		if w.Site.Edition != EditionFree {
			capacity = seatTier(usage)
		}
		w.Capacity = &capacity
	}
}

func seatTier(usage int64) int64 {
	for _, t := range seatTiers {
		if t >= usage {
			return t
		}
	}
	return usage
}

// personNameParts is a generated person's display name, nickname and
// ASCII e-mail local part.
type personNameParts struct {
	name       string
	nickname   string
	emailLocal string
}

func (g *generator) personName() personNameParts {
	r := g.rng.Float64()
	pool := namePools[0]
	for _, p := range namePools {
		if r < p.weight {
			pool = p
			break
		}
		r -= p.weight
	}
	given := pool.given[g.rng.IntN(len(pool.given))]
	family := pool.family[g.rng.IntN(len(pool.family))]
	name := given.display + " " + family.display
	if pool.familyFirst {
		name = family.display + " " + given.display
	}
	return personNameParts{
		name:       name,
		nickname:   given.display,
		emailLocal: given.ascii + "." + family.ascii,
	}
}

func (g *generator) uniqueEmail(local, domain string) string {
	local = strings.ToLower(strings.ReplaceAll(local, " ", ""))
	key := local + "@" + domain
	n := g.emails[key]
	g.emails[key] = n + 1
	if n == 0 {
		return key
	}
	return local + strconv.Itoa(n+1) + "@" + domain
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// atlassianID returns an account id in one of the two forms Atlassian
// issues: 24 hex digits (older accounts) or 712020:<uuid>.
func (g *generator) atlassianID() string {
	if g.chance(0.3) {
		return "712020:" + g.uuid()
	}
	var b [12]byte
	g.fill(b[:])
	return hex.EncodeToString(b[:])
}

func (g *generator) uuid() string {
	var b [16]byte
	g.fill(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g *generator) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := g.rng.Uint64()
		for j := i; j < len(b) && j < i+8; j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}
