package sqlengine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"modernc.org/sqlite/vtab"
)

// Columns the SDK adds to every table schema. sp_connection_name and
// sp_ctx are filled in on every row, so they are hidden SQL columns that
// are never requested; the deprecated _ctx is left out.
const (
	connectionNameColumn   = "sp_connection_name"
	contextColumn          = "sp_ctx"
	deprecatedContextColum = "_ctx"
)

// Full-scan cost and row estimates given to SQLite's planner. Only their
// ratios matter: each qual sent to the plugin makes a plan cheaper, and a
// plan missing a required key column costs more than any other.
const (
	fullScanCost      = 1e6
	unsatisfiableCost = 1e15
)

type columnInfo struct {
	name     string
	typ      proto.ColumnType
	declType string
	hydrate  string
	hidden   bool
	// keyOps lists the operators the table accepts as quals on this column,
	// from its Get and List key columns.
	keyOps map[string]bool
}

type tableInfo struct {
	name    string
	columns []columnInfo
	// countColumn is requested when SQLite reads no column at all, as for
	// count(*): the first column that needs no hydrate call.
	countColumn string
	getKeys     []*proto.KeyColumn
	listKeys    []*proto.KeyColumn
}

func newTableInfo(name string, schema *proto.TableSchema) *tableInfo {
	t := &tableInfo{
		name:     name,
		getKeys:  schema.GetGetCallKeyColumnList(),
		listKeys: schema.GetListCallKeyColumnList(),
	}
	keyOps := map[string]map[string]bool{}
	for _, k := range append(append([]*proto.KeyColumn(nil), t.getKeys...), t.listKeys...) {
		if keyOps[k.Name] == nil {
			keyOps[k.Name] = map[string]bool{}
		}
		ops := k.Operators
		if len(ops) == 0 {
			ops = []string{"="}
		}
		for _, op := range ops {
			keyOps[k.Name][op] = true
		}
	}
	for _, c := range schema.GetColumns() {
		if c.Name == deprecatedContextColum {
			continue
		}
		hidden := c.Name == connectionNameColumn || c.Name == contextColumn
		t.columns = append(t.columns, columnInfo{
			name:     c.Name,
			typ:      c.Type,
			declType: declaredType(c.Type),
			hydrate:  c.Hydrate,
			hidden:   hidden,
			keyOps:   keyOps[c.Name],
		})
		if !hidden && c.Hydrate == "" && t.countColumn == "" {
			t.countColumn = c.Name
		}
	}
	if t.countColumn == "" && len(t.columns) > 0 && !t.columns[0].hidden {
		t.countColumn = t.columns[0].name
	}
	return t
}

func declaredType(t proto.ColumnType) string {
	switch t {
	case proto.ColumnType_BOOL:
		return TypeBoolean
	case proto.ColumnType_INT:
		return TypeInteger
	case proto.ColumnType_DOUBLE:
		return TypeReal
	case proto.ColumnType_JSON:
		return TypeJSON
	case proto.ColumnType_TIMESTAMP:
		return TypeTimestamp
	default:
		return TypeText
	}
}

// createStatement returns the CREATE TABLE statement declared to SQLite.
func (t *tableInfo) createStatement() string {
	defs := make([]string, len(t.columns))
	for i, c := range t.columns {
		defs[i] = quoteIdent(c.name) + " " + c.declType
		if c.hidden {
			defs[i] += " HIDDEN"
		}
	}
	return fmt.Sprintf("CREATE TABLE %s(%s)", quoteIdent(t.name), strings.Join(defs, ", "))
}

// requestedColumns maps SQLite's colUsed bit mask to the columns the
// plugin must return. Bit 63 stands for column 63 and every later one.
func (t *tableInfo) requestedColumns(colUsed uint64) []string {
	var cols []string
	for i, c := range t.columns {
		bit := min(i, 63)
		if colUsed&(uint64(1)<<bit) == 0 || c.hidden {
			continue
		}
		cols = append(cols, c.name)
	}
	if len(cols) == 0 && t.countColumn != "" {
		cols = []string{t.countColumn}
	}
	return cols
}

// requirementsMet reports whether the quals satisfy the required key
// columns of the List call, or all key columns of the Get call.
func (t *tableInfo) requirementsMet(quals []planQual) bool {
	have := map[string]map[string]bool{}
	for _, q := range quals {
		if have[q.Column] == nil {
			have[q.Column] = map[string]bool{}
		}
		have[q.Column][q.Operator] = true
	}
	if keySetMet(t.listKeys, have) {
		return true
	}
	return len(t.getKeys) > 0 && keySetMet(t.getKeys, have)
}

func keySetMet(keys []*proto.KeyColumn, have map[string]map[string]bool) bool {
	hasQual := func(k *proto.KeyColumn) bool {
		ops := k.Operators
		if len(ops) == 0 {
			ops = []string{"="}
		}
		for _, op := range ops {
			if have[k.Name][op] {
				return true
			}
		}
		return false
	}
	anyOfDeclared, anyOfMet := false, false
	for _, k := range keys {
		switch k.Require {
		case "required", "":
			if !hasQual(k) {
				return false
			}
		case "any_of":
			anyOfDeclared = true
			anyOfMet = anyOfMet || hasQual(k)
		}
	}
	return !anyOfDeclared || anyOfMet
}

// scanPlan is the plan BestIndex chooses, passed to Filter as idxStr.
type scanPlan struct {
	Columns []string   `json:"c"`
	Quals   []planQual `json:"q,omitempty"`
	// LimitArg and OffsetArg index Filter's values; -1 means absent.
	LimitArg  int `json:"l"`
	OffsetArg int `json:"o"`
}

type planQual struct {
	Column   string `json:"c"`
	Operator string `json:"op"`
	Arg      int    `json:"a"`
	// Omit is set when SQLite does not re-check the condition, so every
	// row returned must satisfy it.
	Omit bool `json:"x,omitempty"`
}

func decodePlan(idxStr string) (scanPlan, error) {
	var p scanPlan
	if err := json.Unmarshal([]byte(idxStr), &p); err != nil {
		return p, fmt.Errorf("internal error: invalid scan plan: %w", err)
	}
	return p, nil
}

// sqlOperator maps a SQLite constraint to a qual operator; "" means the
// constraint cannot become a qual.
func sqlOperator(op vtab.ConstraintOp) string {
	switch op {
	case vtab.OpEQ:
		return "="
	case vtab.OpLT:
		return "<"
	case vtab.OpLE:
		return "<="
	case vtab.OpGT:
		return ">"
	case vtab.OpGE:
		return ">="
	}
	return ""
}

// module creates the virtual tables of one engine. The table name given
// to CREATE VIRTUAL TABLE selects the plugin table.
type module struct {
	engine *Engine
}

func (m *module) Create(ctx vtab.Context, args []string) (vtab.Table, error) {
	return m.Connect(ctx, args)
}

func (m *module) Connect(ctx vtab.Context, args []string) (vtab.Table, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("internal error: virtual table arguments %q lack a table name", args)
	}
	info, ok := m.engine.tables[args[2]]
	if !ok {
		return nil, fmt.Errorf("table %s not found in plugin %s", args[2], m.engine.opts.PluginName)
	}
	if err := ctx.Declare(info.createStatement()); err != nil {
		return nil, fmt.Errorf("declaring table %s failed: %w", info.name, err)
	}
	return &table{engine: m.engine, info: info}, nil
}

type table struct {
	engine *Engine
	info   *tableInfo
}

// BestIndex turns SQLite's constraints into a scan plan.
func (t *table) BestIndex(info *vtab.IndexInfo) error {
	plan := scanPlan{
		Columns:   t.info.requestedColumns(info.ColUsed),
		LimitArg:  -1,
		OffsetArg: -1,
	}
	nextArg := 0
	allOmitted := true
	limitIndex, offsetIndex := -1, -1
	for i := range info.Constraints {
		c := &info.Constraints[i]
		switch c.Op {
		case vtab.OpLIMIT:
			limitIndex = i
			continue
		case vtab.OpOFFSET:
			offsetIndex = i
			continue
		}
		op := sqlOperator(c.Op)
		if !c.Usable || op == "" || c.Column < 0 || c.Column >= len(t.info.columns) {
			allOmitted = false
			continue
		}
		col := t.info.columns[c.Column]
		if !col.keyOps[op] || (col.declType == TypeText && t.engine.keepTextConditions.Load()) {
			allOmitted = false
			continue
		}
		c.ArgIndex = nextArg
		c.Omit = t.engine.opts.ExactQual(t.info.name, col.name, op)
		allOmitted = allOmitted && c.Omit
		plan.Quals = append(plan.Quals, planQual{
			Column:   col.name,
			Operator: op,
			Arg:      nextArg,
			Omit:     c.Omit,
		})
		nextArg++
	}

	// SQLite applies LIMIT and OFFSET itself in any case. Sending the
	// limit to the plugin is safe only when no row it returns is dropped
	// later: every condition is applied exactly by the plugin, and SQLite
	// does not sort before limiting.
	if allOmitted && limitIndex >= 0 && len(info.OrderBy) == 0 {
		info.Constraints[limitIndex].ArgIndex = nextArg
		plan.LimitArg = nextArg
		nextArg++
		if offsetIndex >= 0 {
			info.Constraints[offsetIndex].ArgIndex = nextArg
			plan.OffsetArg = nextArg
		}
	}

	cost := fullScanCost
	for _, q := range plan.Quals {
		if q.Operator == "=" {
			cost /= 100
		} else {
			cost /= 4
		}
	}
	if !t.info.requirementsMet(plan.Quals) {
		cost = unsatisfiableCost
	}
	info.EstimatedCost = cost
	info.EstimatedRows = int64(cost)

	encoded, err := json.Marshal(plan)
	if err != nil {
		return fmt.Errorf("internal error: encoding scan plan: %w", err)
	}
	info.IdxStr = string(encoded)
	return nil
}

func (t *table) Open() (vtab.Cursor, error) {
	return &cursor{table: t}, nil
}

func (t *table) Disconnect() error { return nil }

func (t *table) Destroy() error { return nil }
