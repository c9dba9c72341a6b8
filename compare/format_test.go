package compare

import "testing"

func TestChange(t *testing.T) {
	tests := []struct {
		label           Metric
		baseline, value float64
		want            string
	}{
		{MetricP, 0.419, 0.445, "bertscore-p 0.419 -> 0.445 (+6.2%)"},
		{MetricR, 0.445, 0.419, "bertscore-r 0.445 -> 0.419 (-5.8%)"},
		{MetricF, 0.8124, 0.8124, "bertscore-f 0.812 -> 0.812 (+0.0%)"},
		{MetricF, 0.8124, 0.81238, "bertscore-f 0.812 -> 0.812 (+0.0%)"}, // -0.002 %: never "-0.0%"
		{MetricF, 0, 0.445, "bertscore-f 0.000 -> 0.445 (n/a)"},
		{MetricFRescaled, -0.120, 0.060, "bertscore-f-rescaled -0.120 -> 0.060 (+150.0%)"},
		{MetricPRescaled, 0.2, -0.1, "bertscore-p-rescaled 0.200 -> -0.100 (-150.0%)"},
		{MetricRRescaled, -0.2, -0.3, "bertscore-r-rescaled -0.200 -> -0.300 (-50.0%)"},
		{MetricF, 0.9, 0.99, "bertscore-f 0.900 -> 0.990 (+10.0%)"},
		{MetricF, 0.8, 0.80048, "bertscore-f 0.800 -> 0.800 (+0.1%)"}, // 0.06 %
	}
	for _, tt := range tests {
		if got := Change(tt.label, tt.baseline, tt.value); got != tt.want {
			t.Errorf("Change(%s, %g, %g) = %q, want %q", tt.label, tt.baseline, tt.value, got, tt.want)
		}
	}
}

func TestDeltaEstimate_Verdict(t *testing.T) {
	sig := DeltaEstimate{Estimate: Estimate{Mean: 0.012, CILow: 0.004, CIHigh: 0.0204}, Baseline: 0.812, Value: 0.824, PValue: 0.003, Significant: true}
	if got, want := sig.Verdict(MetricF, 0.95), "bertscore-f 0.812 -> 0.824 (+1.5%): +0.012, 95 % CI +0.004 to +0.020, p = 0.0030"; got != want {
		t.Errorf("significant:\n got %q\nwant %q", got, want)
	}
	not := DeltaEstimate{Estimate: Estimate{Mean: 0.0015, CILow: -0.0042, CIHigh: 0.0071}, Baseline: 0.812, Value: 0.8135, PValue: 0.41}
	if got, want := not.Verdict(MetricF, 0.95), "bertscore-f 0.812 -> 0.814 (+0.2%): not significant: 95 % CI -0.004 to +0.007 contains 0, p = 0.4100"; got != want {
		t.Errorf("not significant:\n got %q\nwant %q", got, want)
	}
	zero := DeltaEstimate{Baseline: 0.8, Value: 0.8, PValue: 1}
	if got, want := zero.Verdict(MetricP, 0.9), "bertscore-p 0.800 -> 0.800 (+0.0%): not significant: 90 % CI +0.000 to +0.000 contains 0, p = 1.0000"; got != want {
		t.Errorf("zero:\n got %q\nwant %q", got, want)
	}
	if got := level(0.995); got != "99.5 %" {
		t.Errorf("level(0.995) = %q", got)
	}
}
