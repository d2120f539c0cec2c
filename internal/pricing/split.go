package pricing

import (
	"fmt"
	"slices"
)

// Split divides total minor units over the users with these account ids
// so that the parts add up to total exactly. Every user gets
// total / len(ids), truncated toward zero; the remainder goes one minor
// unit each to the first users in ascending account id order, so the
// result does not depend on the order of ids. It returns the parts keyed
// by account id; duplicate ids are an error.
func Split(total int64, ids []string) (map[string]int64, error) {
	if len(ids) == 0 {
		if total != 0 {
			return nil, fmt.Errorf("cannot split %d minor units over no users", total)
		}
		return map[string]int64{}, nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return nil, fmt.Errorf("cannot split over account id %q twice", sorted[i])
		}
	}
	n := int64(len(sorted))
	share, rest := total/n, total%n
	step := int64(1)
	if rest < 0 {
		step, rest = -1, -rest
	}
	out := make(map[string]int64, n)
	for i, id := range sorted {
		out[id] = share
		if int64(i) < rest {
			out[id] += step
		}
	}
	return out, nil
}
