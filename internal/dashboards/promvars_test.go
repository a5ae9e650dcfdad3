package dashboards

import "testing"

func TestReplaceGrafanaVariables(t *testing.T) {
	cases := []struct{ in, want string }{
		{`rate(x[$__rate_interval])`, `rate(x[5m])`},
		{`rate(x[${__interval}])`, `rate(x[5m])`},
		{`increase(x[$__range]) / $__range_s`, `increase(x[5m]) / 300`},
		{`up{job=~"$job", instance="${instance:regex}"}`, `up{job=~"placeholder", instance="placeholder"}`},
		{`up{job=~'[[job]]'}`, `up{job=~'placeholder'}`},
		{`sum by ($label) (up)`, `sum by (placeholder_label) (up)`},
		{`a * on($l) group_left b`, `a * on(placeholder_label) group_left b`},
		{`sum without (${l}) (x)`, `sum without (placeholder_label) (x)`},
		{`{$label="x"}`, `{placeholder_label="x"}`},
		{`rate(x[$window])`, `rate(x[5m])`},
		{`x offset $shift`, `x offset 5m`},
		{`x @ $t`, `x @ 1`},
		{`topk($n, x)`, `topk(1, x)`},
		{`histogram_quantile($q, sum by (le) (rate(h_bucket[5m])))`, `histogram_quantile(1, sum by (le) (rate(h_bucket[5m])))`},
		{`clamp_max(x, $max)`, `clamp_max(x, 1)`},
		{`x > $threshold`, `x > placeholder_metric`},
		{`sum($metric)`, `sum(placeholder_metric)`},
		{`$metric{job="a"}`, `placeholder_metric{job="a"}`},
		{`rate($metric[5m])`, `rate(placeholder_metric[5m])`},
		{`count_values("v", $m)`, `count_values("v", placeholder_metric)`},
		{`up{job=~"a$|b"}`, `up{job=~"a$|b"}`}, // a regex anchor, not a variable
		{`up{job="a\"$job"}`, `up{job="a\"placeholder"}`},
		{"x # $note\n+ $y", "x # $note\n+ placeholder_metric"},
	}
	for _, tc := range cases {
		got := ReplaceGrafanaVariables(tc.in)
		if got != tc.want {
			t.Errorf("ReplaceGrafanaVariables(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			continue
		}
		if _, err := promqlParser.ParseExpr(got); err != nil {
			t.Errorf("%q → %q does not parse: %v", tc.in, got, err)
		}
	}
}
