package report

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// commasFloat formats v with thousands separators and digits decimals
// (-1: as few as needed).
func commasFloat(v float64, digits int) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return s
	}
	out := commas(n)
	if n == 0 && strings.HasPrefix(whole, "-") {
		out = "-0"
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

func percent(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	v := 100 * float64(n) / float64(total)
	if v == 100 || v == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "%"
}

// ms formats microseconds as milliseconds.
func ms(us int64) string {
	v := float64(us) / 1000
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// seconds formats a duration in seconds for people.
func seconds(v float64) string {
	switch {
	case v == 0:
		return "0 s"
	case v < 0.001:
		return strconv.FormatFloat(v*1e6, 'f', 0, 64) + " µs"
	case v < 1:
		return strconv.FormatFloat(v*1e3, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " s"
}

// rateText writes a ceiling as the report keeps it: whole, or below 100 to
// two decimals.
func rateText(v float64) string {
	if v < 100 {
		return commasFloat(v, 2)
	}
	return commasFloat(v, 0)
}

// counts returns the sum of the counts in m and a list of the non-zero
// ones, "ECONNRESET 5, timeout 2", by name.
func counts(m map[string]int64) (total int64, list string) {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if n := m[k]; n > 0 {
			total += n
			parts = append(parts, k+" "+commas(n))
		}
	}
	return total, strings.Join(parts, ", ")
}

func percentText(p float64) string {
	switch {
	case math.IsInf(p, 1):
		return "+inf%"
	case math.IsInf(p, -1):
		return "-inf%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func signed(p float64) string {
	s := percentText(p)
	if p > 0 && !math.IsInf(p, 1) {
		s = "+" + s
	}
	return s
}
