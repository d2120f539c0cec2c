package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/report"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// writeHTMLReport reads the spend figures from the same table copies the
// recommendations ran on, so that the page and the findings agree.
func writeHTMLReport(ctx context.Context, w io.Writer, engine *sqlengine.Engine,
	rep *recommend.Report, values map[string]any) error {
	asOf, _ := values[recommend.ParamAsOf].(time.Time)
	inactive, ok := values[recommend.ParamInactiveDays].(int)
	if !ok {
		inactive = recommend.DefaultInactiveDays
	}
	data, err := report.Collect(ctx, engine, rep, report.Options{AsOf: asOf,
		InactiveDays: inactive})
	if err != nil {
		return err
	}
	return report.Write(w, data)
}

// writeOutput runs write on stdout, or on a temporary file next to path
// that replaces path only once write succeeded. The file is readable by
// its owner only (os.CreateTemp's mode), because findings name people.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" {
		return write(stdout)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("failed to write --out %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write --out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to write --out %s: %w", path, err)
	}
	return nil
}
