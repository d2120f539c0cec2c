package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// peakRSS is one memory measurement: the plugin process's peak resident
// set before and after one full scan.
type peakRSS struct {
	users, rows   int
	idleKB, hwmKB int64
}

func benchMemory(ctx context.Context, binary string) ([]result, string, error) {
	var peaks []peakRSS
	for _, users := range []int{*memSmallFlag, *memLargeFlag} {
		peak, err := measurePeak(ctx, binary, users)
		if err != nil {
			return nil, "", fmt.Errorf("%d users: %w", users, err)
		}
		peaks = append(peaks, peak)
	}
	small, large := peaks[0], peaks[1]
	ratio := float64(large.hwmKB) / float64(small.hwmKB)

	var d strings.Builder
	fmt.Fprintf(&d, "memory benchmark: peak RSS (VmHWM) of a new plugin process per org, over "+
		"gRPC, inventory_cache_ttl = 0, no race detector\n")
	for _, p := range peaks {
		fmt.Fprintf(&d, "  %6d users, %6d rows: %6.1f MiB after start-up, %6.1f MiB after "+
			"one full scan\n", p.users, p.rows, mib(p.idleKB), mib(p.hwmKB))
	}
	return []result{{
		name: fmt.Sprintf("peak RSS, %d / %d users", large.users, small.users),
		measured: fmt.Sprintf("%.1f / %.1f MiB = %.2f", mib(large.hwmKB), mib(small.hwmKB),
			ratio),
		target: fmt.Sprintf("<= %.1f", maxMemoryRatio),
		pass:   ratio <= maxMemoryRatio,
	}}, d.String(), nil
}

// measurePeak starts an emulator of users and a new plugin process, runs
// one full confluence_user scan, and reads the plugin's peak RSS. The
// emulator runs in the bench process, so its memory is not counted.
func measurePeak(ctx context.Context, binary string, users int) (peakRSS, error) {
	b, err := startBench(emulator.Options{Users: users, Seed: 1})
	if err != nil {
		return peakRSS{}, err
	}
	defer b.emu.Close()
	p, err := launchPlugin(ctx, binary, b.info)
	if err != nil {
		return peakRSS{}, err
	}
	defer p.close()
	peak := peakRSS{users: users}
	if peak.idleKB, err = readVmHWM(p.cmd.Process.Pid); err != nil {
		return peak, err
	}
	if peak.rows, err = p.scanAll(ctx); err != nil {
		return peak, err
	}
	if peak.rows != b.info.ConfluenceUsers {
		return peak, fmt.Errorf("scan returned %d rows, want %d", peak.rows,
			b.info.ConfluenceUsers)
	}
	if peak.hwmKB, err = readVmHWM(p.cmd.Process.Pid); err != nil {
		return peak, err
	}
	return peak, nil
}

// readVmHWM returns the peak resident set size of a live process in KiB,
// from the VmHWM line of /proc/PID/status (Linux only).
func readVmHWM(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the plugin's peak RSS failed (needs Linux /proc): %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		value, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("%s has an invalid VmHWM line %q", path, line)
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	return 0, fmt.Errorf("%s has no VmHWM line", path)
}

func mib(kb int64) float64 { return float64(kb) / 1024 }
