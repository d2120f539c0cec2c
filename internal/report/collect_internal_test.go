package report

import (
	"testing"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

func TestGroupRulesListsEveryRule(t *testing.T) {
	d := &Data{Findings: []recommend.Finding{
		{Rule: "inactive_users", Status: recommend.StatusAlarm, Currency: "USD",
			SavingMonthlyMinor: 500, SavingAnnualMinor: 6000},
	}}
	d.groupRules()
	all := recommend.All()
	if len(d.Rules) != len(all) {
		t.Fatalf("%d rule rows, want one per rule (%d)", len(d.Rules), len(all))
	}
	for i, def := range all {
		if d.Rules[i].Rule != def.Name {
			t.Errorf("row %d is %s, want %s in rule order", i, d.Rules[i].Rule, def.Name)
		}
		if def.Name == "inactive_users" {
			if d.Rules[i].Findings != 1 || d.Rules[i].MonthlyMinor != 500 {
				t.Errorf("inactive_users row %+v, want 1 finding saving 500", d.Rules[i])
			}
			continue
		}
		if d.Rules[i].Findings != 0 || d.Rules[i].Currency != "" {
			t.Errorf("%s row %+v, want no findings and no currency", def.Name, d.Rules[i])
		}
	}
}
