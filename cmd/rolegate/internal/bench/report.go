package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// tableRow is one line of the result table: a figure, the baseline measured
// in the same run, and the target the issue sets for their ratio.
type tableRow struct {
	section  string
	name     string
	measured string
	baseline string
	ratio    float64 // measured ÷ baseline; 0 when not a ratio
	target   string
	ok       bool
	note     string
}

// memoryRow reports the peak resident set of this process (VmHWM), which
// holds the worker, the store and the local IAM endpoint during the run.
// priorKB is a peak seen before a section reset the kernel's record.
func memoryRow(priorKB int64) tableRow {
	row := tableRow{section: "memory", name: "peak RSS of the bench process (VmHWM)", target: "≤ 100 MiB"}
	kb, err := procStatusKB("VmHWM")
	if err != nil {
		row.measured, row.note = "n/a", err.Error()
		return row
	}
	kb = max(kb, priorKB)
	mib := float64(kb) / 1024
	row.measured = fmt.Sprintf("%.1f MiB", mib)
	row.ok = mib <= 100
	return row
}

// resetPeakRSS makes the kernel's peak RSS (VmHWM) start again from the
// current RSS, so that a section can measure its own peak; it returns the
// peak until then.
func resetPeakRSS() (int64, error) {
	kb, err := procStatusKB("VmHWM")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return kb, fmt.Errorf("reset the peak RSS: %w", err)
	}
	return kb, nil
}

// procStatusKB reads one "Name: N kB" line of /proc/self/status.
func procStatusKB(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, errors.New("no /proc/self/status on this system")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// memTotal is the machine's memory for the report header.
func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return "memory unknown"
}

func printTable(w io.Writer, rows []tableRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "section\tfigure\tmeasured\tbaseline\tratio\ttarget\tmet\t")
	for _, r := range rows {
		ratio := ""
		switch {
		case r.ratio >= 0.01:
			ratio = fmt.Sprintf("%.2f×", r.ratio)
		case r.ratio > 0:
			ratio = fmt.Sprintf("%.4f×", r.ratio)
		}
		met := "yes"
		if !r.ok {
			met = "NO"
		}
		if r.target == "" {
			met = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.section, r.name, r.measured, r.baseline, ratio, r.target, met)
	}
	tw.Flush()
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "\n%s / %s: %s", r.section, r.name, r.note)
		}
	}
	fmt.Fprintln(w)
}
