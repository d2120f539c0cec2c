package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

func TestRecommendHTMLToFile(t *testing.T) {
	clearEnv(t)
	emu, err := emulator.New(emulator.Options{
		Users: 200, Seed: 5, Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+
		info.Config+"\n"+confluence.LoopbackLimitSettings+"  session_cache_path = \""+t.TempDir()+"\"\n}\n"+fastLimiters)
	out := filepath.Join(t.TempDir(), "report.html")
	code, stdout, stderr := run(t, "recommend", "--config", path, "--output", "html",
		"--out", out, "--as-of", "2026-05-01", "--inactive-days", "60")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing when --out is set", stdout)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "Confluence spend report",
		"inactive after 60 days", `<table id="findings"`, "Savings a year"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", st.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".report.html.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestRecommendRejectsUnknownOutput(t *testing.T) {
	clearEnv(t)
	code, _, stderr := run(t, "recommend", "--output", "pdf")
	if code != ExitUsage {
		t.Fatalf("exit code %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(stderr, "table, csv, json or html") {
		t.Errorf("stderr %q does not list html", stderr)
	}
}
