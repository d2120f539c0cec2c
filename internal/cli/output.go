package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/mattn/go-runewidth"
	"io"
	"strconv"
	"strings"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// nullText is the table output of SQL NULL. CSV output leaves the field empty.
const nullText = "<null>"

func writeResult(w io.Writer, format string, r *sqlengine.Result) error {
	switch format {
	case "csv":
		return writeCSV(w, r)
	case "json":
		return writeJSON(w, r)
	}
	return writeTable(w, r)
}

// cellText renders one value for table and csv output.
func cellText(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// writeTable prints aligned columns under a header and a rule. Newlines
// and tabs inside values are escaped so that each row stays on one line.
func writeTable(w io.Writer, r *sqlengine.Result) error {
	cells := make([][]string, 0, len(r.Rows)+1)
	header := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		header[i] = c.Name
	}
	cells = append(cells, header)
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = escapeControl(cellText(v, nullText))
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(header))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	var buf bytes.Buffer
	writeLine := func(line []string) {
		for i, c := range line {
			if i > 0 {
				buf.WriteString("  ")
			}
			buf.WriteString(c)
			if i < len(line)-1 {
				buf.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)))
			}
		}
		buf.WriteString("\n")
	}
	writeLine(cells[0])
	rule := make([]string, len(widths))
	for i, width := range widths {
		rule[i] = strings.Repeat("-", width)
	}
	writeLine(rule)
	for _, line := range cells[1:] {
		writeLine(line)
	}
	fmt.Fprintf(&buf, "(%d %s)\n", len(r.Rows), plural(len(r.Rows), "row", "rows"))
	_, err := w.Write(buf.Bytes())
	return err
}

func escapeControl(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func writeCSV(w io.Writer, r *sqlengine.Result) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = cellText(v, "")
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON prints an array with one object per row, keys in column
// order. BOOLEAN columns become true or false, JSON columns are embedded
// as JSON, and NULL is null.
func writeJSON(w io.Writer, r *sqlengine.Result) error {
	var buf bytes.Buffer
	buf.WriteString("[")
	for n, row := range r.Rows {
		if n > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				buf.WriteString(", ")
			}
			key, err := json.Marshal(r.Columns[i].Name)
			if err != nil {
				return err
			}
			buf.Write(key)
			buf.WriteString(": ")
			value, err := jsonValue(r.Columns[i].Type, v)
			if err != nil {
				return fmt.Errorf("column %s: %w", r.Columns[i].Name, err)
			}
			buf.Write(value)
		}
		buf.WriteString("}")
	}
	if len(r.Rows) > 0 {
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

func jsonValue(columnType string, v any) ([]byte, error) {
	switch columnType {
	case sqlengine.TypeBoolean:
		if n, ok := v.(int64); ok {
			return json.Marshal(n != 0)
		}
	case sqlengine.TypeJSON:
		if s, ok := v.(string); ok && json.Valid([]byte(s)) {
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(s)); err == nil {
				return compact.Bytes(), nil
			}
		}
	}
	if b, ok := v.([]byte); ok {
		return json.Marshal(string(b))
	}
	return json.Marshal(v)
}
