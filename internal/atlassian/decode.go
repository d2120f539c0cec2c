package atlassian

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// fieldError is a field of an response that decoded as JSON but holds a
// value the client cannot use.
type fieldError struct {
	Field string
	Err   error
}

func (e *fieldError) Error() string { return "field " + e.Field + ": " + e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// links is the paging object of the Admin API.
type links struct {
	Next string `json:"next"`
}

type orgsPage struct {
	Data []struct {
		ID         string `json:"id"`
		Attributes struct {
			Name string `json:"name"`
		} `json:"attributes"`
	} `json:"data"`
	Links links `json:"links"`
}

type directoriesPage struct {
	Data []struct {
		DirectoryID string `json:"directoryId"`
		Name        string `json:"name"`
	} `json:"data"`
	Links links `json:"links"`
}

type workspacesPage struct {
	Data []struct {
		ID         string `json:"id"`
		Attributes struct {
			Name     string          `json:"name"`
			TypeKey  string          `json:"typeKey"`
			HostURL  string          `json:"hostUrl"`
			Status   string          `json:"status"`
			Sandbox  flexBool        `json:"sandbox"`
			Capacity json.RawMessage `json:"capacity"`
			Usage    json.RawMessage `json:"usage"`
		} `json:"attributes"`
	} `json:"data"`
	Links links `json:"links"`
}

type groupsPage struct {
	Data []struct {
		ID               string `json:"id"`
		Name             string `json:"name"`
		Description      string `json:"description"`
		ManagementSource string `json:"managementSource"`
		Counts           struct {
			Users json.RawMessage `json:"users"`
		} `json:"counts"`
	} `json:"data"`
	Links links `json:"links"`
}

type usersPage struct {
	Data  []wireUser `json:"data"`
	Links links      `json:"links"`
}

// wireUser is a user of the v2 user search as the API sends it.
type wireUser struct {
	AccountID        string            `json:"accountId"`
	AccountType      string            `json:"accountType"`
	Status           string            `json:"status"`
	AccountStatus    string            `json:"accountStatus"`
	MembershipStatus string            `json:"membershipStatus"`
	ClaimStatus      string            `json:"claimStatus"`
	Name             string            `json:"name"`
	Nickname         string            `json:"nickname"`
	Email            string            `json:"email"`
	EmailVerified    flexBool          `json:"emailVerified"`
	MFAEnabled       *bool             `json:"mfaEnabled"`
	PlatformRoles    []json.RawMessage `json:"platformRoles"`
	AddedToOrg       json.RawMessage   `json:"addedToOrg"`
	DeactivatedOn    json.RawMessage   `json:"deactivatedOn"`
	ProductAccess    []struct {
		Key                 string          `json:"key"`
		ID                  string          `json:"id"`
		LastActiveTimestamp json.RawMessage `json:"lastActiveTimestamp"`
	} `json:"productAccess"`
	Groups []Group `json:"groups"`
}

func (w *wireUser) user() (User, error) {
	u := User{
		AccountID:        w.AccountID,
		AccountType:      w.AccountType,
		Status:           w.Status,
		AccountStatus:    w.AccountStatus,
		MembershipStatus: w.MembershipStatus,
		ClaimStatus:      w.ClaimStatus,
		Name:             w.Name,
		Nickname:         w.Nickname,
		Email:            w.Email,
		EmailVerified:    bool(w.EmailVerified),
		MFAEnabled:       w.MFAEnabled,
		Groups:           w.Groups,
	}
	var err error
	if u.AddedToOrg, err = ParseTimestamp(w.AddedToOrg); err != nil {
		return u, &fieldError{"addedToOrg", err}
	}
	if u.DeactivatedOn, err = ParseTimestamp(w.DeactivatedOn); err != nil {
		return u, &fieldError{"deactivatedOn", err}
	}
	for _, raw := range w.PlatformRoles {
		role, err := roleID(raw)
		if err != nil {
			return u, &fieldError{"platformRoles", err}
		}
		if role != "" {
			u.PlatformRoles = append(u.PlatformRoles, role)
		}
	}
	if w.ProductAccess != nil {
		u.ProductAccess = make([]ProductAccess, 0, len(w.ProductAccess))
	}
	for _, p := range w.ProductAccess {
		last, err := ParseTimestamp(p.LastActiveTimestamp)
		if err != nil {
			return u, &fieldError{"productAccess.lastActiveTimestamp", err}
		}
		// An absent field leaves the raw message empty; a null one sets it
		// to "null", because json.RawMessage receives null as it is.
		u.ProductAccess = append(u.ProductAccess, ProductAccess{Key: p.Key, ID: p.ID,
			LastActive: last, HasTimestamp: len(p.LastActiveTimestamp) > 0})
	}
	return u, nil
}

// roleID reads a platform role given as a string or as an object with an
// id (some responses send {"id": "...", "name": "..."}).
func roleID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var obj struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("expected a role id or an object with an id")
	}
	if obj.ID != "" {
		return obj.ID, nil
	}
	return obj.Role, nil
}

// flexBool decodes a JSON boolean, null (false), or an object, which the
// workspace response uses for sandbox details: an object is true unless it
// carries a false "isSandbox", "enabled" or "value" flag.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("true")):
		*b = true
	case bytes.Equal(data, []byte("false")), bytes.Equal(data, []byte("null")):
		*b = false
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("expected a boolean")
		}
		*b = flexBool(v)
	case len(data) > 0 && data[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return err
		}
		*b = len(obj) > 0
		for _, k := range []string{"isSandbox", "enabled", "value"} {
			if v, ok := obj[k]; ok {
				var inner flexBool
				if err := inner.UnmarshalJSON(v); err != nil {
					return err
				}
				*b = inner
				break
			}
		}
	default:
		return fmt.Errorf("expected a boolean or an object")
	}
	return nil
}

// optionalInt reads an absent, null or numeric JSON value.
func optionalInt(raw json.RawMessage) (*int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		raw = []byte(s)
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return &n, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != float64(int64(f)) {
		return nil, fmt.Errorf("expected a whole number")
	}
	n := int64(f)
	return &n, nil
}

type lastActivePage struct {
	Data struct {
		ProductAccess []struct {
			ID                  string          `json:"id"`
			Key                 string          `json:"key"`
			Name                string          `json:"name"`
			URL                 string          `json:"url"`
			LastActive          json.RawMessage `json:"last_active"`
			LastActiveTimestamp json.RawMessage `json:"last_active_timestamp"`
		} `json:"product_access"`
		AddedToOrg          json.RawMessage `json:"added_to_org"`
		AddedToOrgTimestamp json.RawMessage `json:"added_to_org_timestamp"`
	} `json:"data"`
	Links links `json:"links"`
}

// firstTimestamp parses the first of raws that holds a time, so that the
// precise *_timestamp field wins over the date-only one.
func firstTimestamp(field string, raws ...json.RawMessage) (*time.Time, error) {
	for _, raw := range raws {
		t, err := ParseTimestamp(raw)
		if err != nil {
			return nil, &fieldError{field, err}
		}
		if t != nil {
			return t, nil
		}
	}
	return nil, nil
}

// Confluence v1 responses.

type tenantInfo struct {
	CloudID string `json:"cloudId"`
}

type systemInfo struct {
	CloudID   string `json:"cloudId"`
	Edition   string `json:"edition"`
	BaseURL   string `json:"baseUrl"`
	SiteTitle string `json:"siteTitle"`
}

type confluenceLinks struct {
	Next string `json:"next"`
}

type wireSiteUser struct {
	AccountID   string `json:"accountId"`
	AccountType string `json:"accountType"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email"`
}

func (w wireSiteUser) siteUser() SiteUser {
	return SiteUser(w)
}

type userSearchPage struct {
	Results []struct {
		User wireSiteUser `json:"user"`
	} `json:"results"`
	TotalSize *int64          `json:"totalSize"`
	Links     confluenceLinks `json:"_links"`
}

type membersPage struct {
	Results   []wireSiteUser  `json:"results"`
	TotalSize *int64          `json:"totalSize"`
	Links     confluenceLinks `json:"_links"`
}

type siteGroupsPage struct {
	Results []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"results"`
	Links confluenceLinks `json:"_links"`
}
