package region

import "testing"

func TestNines(t *testing.T) {
	for _, tc := range []struct {
		checked, inconsistent uint64
		want                  string
	}{
		{0, 0, "no checks"},
		{10000, 1, "4.0 nines"}, // 0.9999
		{1000, 1, "3.0 nines"},
		{200, 1, "2.3 nines"},   // 0.995: 2.30…
		{220, 20, "1.0 nines"},  // 0.909…: 1.04
		{100, 100, "0.0 nines"}, // nothing consistent
		{1000, 0, "≥ 3.0 nines"},
		{1, 0, "≥ 0.0 nines"},
		{5000, 0, "≥ 3.6 nines"}, // log10(5000) = 3.69…: rounded down
	} {
		if got := Nines(tc.checked, tc.inconsistent).String(); got != tc.want {
			t.Errorf("Nines(%d, %d) = %s, want %s", tc.checked, tc.inconsistent, got, tc.want)
		}
	}
}
