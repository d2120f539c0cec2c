// Command modgen writes the Powerpipe mod of the plugin's savings
// recommendations (see package recommend) into a directory:
//
//	go run ./internal/modgen -out powerpipe
//
// Each recommendation becomes one control of the benchmark
// confluence_savings, whose SQL is the rule's PostgreSQL rendering with
// its placeholders bound to param blocks that default to mod variables.
// The queries of queries.pp join every rule's SQL with union all and sum
// the findings per rule and currency for the dashboard, with one shared
// parameter list.
// The files are generated so that the mod cannot drift from the rules
// that the command line tool and the tests run. `make mod` regenerates
// them, and a test fails while the committed files differ.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

func main() {
	out := flag.String("out", "powerpipe", "directory to write the mod files into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "modgen: unexpected argument %q; usage: modgen -out DIR\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "modgen: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	files, err := Render(recommend.All())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s failed: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return fmt.Errorf("writing %s failed: %w", path, err)
		}
		fmt.Println("wrote", path)
	}
	return nil
}
