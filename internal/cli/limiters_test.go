package cli

import (
	"strings"
	"testing"
)

func TestSpcReadsLimiters(t *testing.T) {
	path := writeFile(t, `
connection "confluence" {
  plugin = "confluence"
  email  = "admin@example.com"
}

plugin "confluence" {
  source        = "local/confluence"
  memory_max_mb = 512

  limiter "confluence_admin_api" {
    fill_rate   = 1.5
    bucket_size = 20
    scope       = ["connection"]
    where       = "service = 'admin_api'"
  }

  limiter "site_calls" {
    max_concurrency = 2
  }
}

plugin "aws" {
  limiter "aws_global" {
    max_concurrency = 10
  }
}
`)
	s, err := loadSpc(path, "")
	if err != nil {
		t.Fatalf("loadSpc: %v", err)
	}
	if len(s.Limiters) != 2 {
		t.Fatalf("got %d limiters, want the 2 of the confluence plugin block", len(s.Limiters))
	}
	admin, site := s.Limiters[0], s.Limiters[1]
	if admin.Name != "confluence_admin_api" || admin.FillRate != 1.5 || admin.BucketSize != 20 ||
		admin.MaxConcurrency != 0 {
		t.Errorf("first limiter = %+v, want confluence_admin_api with fill_rate 1.5 and "+
			"bucket_size 20", admin)
	}
	if len(admin.Scope) != 1 || admin.Scope[0] != "connection" {
		t.Errorf("scope = %q, want [connection]", admin.Scope)
	}
	if admin.Where != "service = 'admin_api'" {
		t.Errorf("where = %q, want service = 'admin_api'", admin.Where)
	}
	if site.Name != "site_calls" || site.MaxConcurrency != 2 || site.FillRate != 0 {
		t.Errorf("second limiter = %+v, want site_calls with max_concurrency 2", site)
	}
}

func TestSpcLimiterLabelMatchesPlugin(t *testing.T) {
	// Without a source attribute, the block's label names the plugin.
	path := writeFile(t, `
connection "confluence" {
  plugin = "confluence"
}

plugin "confluence" {
  limiter "only" {
    max_concurrency = 1
  }
}
`)
	s, err := loadSpc(path, "")
	if err != nil {
		t.Fatalf("loadSpc: %v", err)
	}
	if len(s.Limiters) != 1 || s.Limiters[0].Name != "only" {
		t.Errorf("limiters = %v, want the one named only", s.Limiters)
	}
}

func TestSpcLimiterErrors(t *testing.T) {
	cases := []struct {
		name    string
		limiter string
		want    string
	}{
		{"no limit", `limiter "idle" {
    scope = ["connection"]
  }`, `line 7: limiter "idle" limits nothing`},
		{"fill rate without bucket", `limiter "half" {
    fill_rate = 5
  }`, `limiter "half" limits nothing`},
		{"negative", `limiter "neg" {
    max_concurrency = -1
  }`, "negative"},
		{"bad name", `limiter "1st" {
    max_concurrency = 1
  }`, "line 7: a limiter block needs one name"},
		{"unknown setting", `limiter "typo" {
    fill_rat = 5
  }`, "line 8"},
		{"duplicate", `limiter "twice" {
    max_concurrency = 1
  }
  limiter "twice" {
    max_concurrency = 2
  }`, `limiter "twice" is already defined on line 7`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, `
connection "confluence" {
  plugin = "confluence"
}

plugin "confluence" {
  `+tc.limiter+`
}
`)
			_, err := loadSpc(path, "")
			if err == nil {
				t.Fatalf("loadSpc accepted the limiter")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestQueryAppliesLimiterBlocks(t *testing.T) {
	clearEnv(t)
	t.Setenv("STEAMPIPE_DIAGNOSTIC_LEVEL", "ALL")
	info, _ := startEmulator(t)
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+info.Config+
		"\n}\n\nplugin \"confluence\" {\n  limiter \"my_admin_limit\" {\n"+
		"    fill_rate   = 500\n    bucket_size = 500\n    scope       = [\"connection\"]\n"+
		"    where       = \"service = 'admin_api'\"\n  }\n}\n")
	code, stdout, stderr := run(t, "query", "--config", path, "--output", "csv",
		"select sp_ctx from confluence_site limit 1")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	// The SDK lists in sp_ctx the limiters each call waited on.
	for _, name := range []string{"my_admin_limit", "confluence_admin_api"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("the list call of confluence_site did not wait on limiter %s: %s",
				name, stdout)
		}
	}
}
