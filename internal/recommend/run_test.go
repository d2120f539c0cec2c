package recommend

import "testing"

func TestByRuleOrderAndEmptyRules(t *testing.T) {
	findings := []Finding{
		{Rule: "b", Status: StatusAlarm, Currency: "USD", SavingMonthlyMinor: 100,
			SavingAnnualMinor: 1200},
		{Rule: "b", Status: StatusAlarm, Currency: "EUR", SavingMonthlyMinor: 7,
			SavingAnnualMinor: 84},
		{Rule: "b", Status: "info", Currency: "USD"},
		{Rule: "not_run", Status: StatusAlarm, Currency: "USD", SavingMonthlyMinor: 5},
	}
	defs := []Definition{{Name: "a"}, {Name: "b"}}
	got := ByRule(findings, defs)
	want := []RuleTotal{
		{Rule: "a"},
		{Rule: "b", Currency: "EUR", Findings: 1, Alarms: 1, MonthlyMinor: 7, AnnualMinor: 84},
		{Rule: "b", Currency: "USD", Findings: 2, Alarms: 1, MonthlyMinor: 100,
			AnnualMinor: 1200},
	}
	if len(got) != len(want) {
		t.Fatalf("ByRule returned %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
