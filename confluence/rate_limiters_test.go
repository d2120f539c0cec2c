package confluence

import "testing"

func TestLoopbackRateLimitersReplaceDefaults(t *testing.T) {
	defaults := rateLimiters()
	loopback := LoopbackRateLimiters()
	if len(loopback) != len(defaults) {
		t.Fatalf("got %d limiters, want one per default (%d)", len(loopback), len(defaults))
	}
	for i, d := range defaults {
		l := loopback[i]
		if l.Name != d.Name || l.Where != d.Where {
			t.Errorf("limiter %d = %s where %q, want %s where %q", i, l.Name, l.Where, d.Name, d.Where)
		}
		if float64(l.FillRate) <= float64(d.FillRate) || l.BucketSize <= d.BucketSize {
			t.Errorf("limiter %s: fill %v bucket %d, want above the default %v and %d",
				l.Name, l.FillRate, l.BucketSize, d.FillRate, d.BucketSize)
		}
	}
}
