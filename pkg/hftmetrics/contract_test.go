package hftmetrics

import (
	"slices"
	"strings"
	"testing"
)

func TestContractIsWellFormed(t *testing.T) {
	labelNames := LabelNames()
	seen := map[string]bool{}
	for _, s := range Contract() {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("listed twice")
			}
			seen[s.Name] = true
			if strings.TrimSpace(s.Help) == "" {
				t.Errorf("no help")
			} else if !strings.HasSuffix(s.Help, ".") {
				t.Errorf("help %q is not a sentence", s.Help)
			}
			if len(s.Sources) == 0 {
				t.Errorf("no source")
			}
			service := s.ExportedBy(SourceCollector) || s.ExportedBy(SourceExecutor)
			if service != strings.HasPrefix(s.Name, "hft_") {
				t.Errorf("the services export hft_* metrics and only those (sources %v)", s.Sources)
			}
			if !service {
				return
			}
			switch s.Type {
			case Counter:
				if !strings.HasSuffix(s.Name, "_total") {
					t.Errorf("counter without _total suffix")
				}
			case Gauge, Histogram:
				if strings.HasSuffix(s.Name, "_total") {
					t.Errorf("%s with _total suffix", s.Type)
				}
			default:
				t.Errorf("unknown type %q", s.Type)
			}
			base := strings.TrimSuffix(s.Name, "_total")
			if s.Unit != "" && !strings.HasSuffix(base, "_"+s.Unit) {
				t.Errorf("unit %q is not the name's suffix", s.Unit)
			}
			for _, unit := range []string{"seconds", "bytes", "usd"} {
				if strings.HasSuffix(base, "_"+unit) && s.Unit != unit {
					t.Errorf("name ends in _%s but unit is %q", unit, s.Unit)
				}
			}
			if s.Type == Histogram && (s.Unit != "seconds" || !s.Native) {
				t.Errorf("histograms are native latency histograms in seconds (unit %q, native %v)", s.Unit, s.Native)
			}
			for _, l := range s.Labels {
				if !slices.Contains(labelNames, l) {
					t.Errorf("label %q is not one of the documented %v", l, labelNames)
				}
			}
			for _, forbidden := range []string{"service", "job", "instance", "host"} {
				if slices.Contains(s.Labels, forbidden) {
					t.Errorf("label %q is set by Prometheus, not the service", forbidden)
				}
			}
			if s.Type == Histogram && len(s.Labels) > 0 {
				t.Errorf("native histograms carry no labels here: one series per process")
			}
		})
	}
}

func TestContractReturnsCopies(t *testing.T) {
	c := Contract()
	c[0].Labels[0] = "mutated"
	c[0].Name = "mutated"
	if Contract()[0].Name == "mutated" || Contract()[0].Labels[0] == "mutated" {
		t.Fatal("Contract exposes the package's table")
	}
	ch := Channels()
	ch[0] = "mutated"
	if Channels()[0] == "mutated" {
		t.Fatal("Channels exposes the package's table")
	}
}

func TestLookup(t *testing.T) {
	for series, want := range map[string]string{
		"hft_feed_messages_total":              MetricFeedMessages,
		"hft_order_ack_latency_seconds":        MetricOrderAckLatency,
		"hft_order_ack_latency_seconds_bucket": MetricOrderAckLatency,
		"hft_db_write_duration_seconds_sum":    MetricDBWriteDuration,
		"hft_db_write_duration_seconds_count":  MetricDBWriteDuration,
		"up":                                   MetricUp,
		"pg_up":                                MetricPgUp,
	} {
		s, ok := Lookup(series)
		if !ok || s.Name != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", series, s.Name, ok, want)
		}
	}
	for _, series := range []string{"hft_feed_messages_total_count", "hft_ws_connected_bucket", "hft_nope", "go_goroutines", ""} {
		if s, ok := Lookup(series); ok {
			t.Errorf("Lookup(%q) = %q; want no match", series, s.Name)
		}
	}
	s, _ := Lookup(MetricOrderAckLatency)
	if got := s.Series(); !slices.Equal(got, []string{MetricOrderAckLatency, MetricOrderAckLatency + "_bucket", MetricOrderAckLatency + "_sum", MetricOrderAckLatency + "_count"}) {
		t.Errorf("Series() = %v", got)
	}
}

func TestCodeTables(t *testing.T) {
	rl := RateLimitCodes()
	for _, want := range []string{"50011", "50061", CodeOther} {
		if !slices.Contains(rl, want) {
			t.Errorf("RateLimitCodes() = %v lacks %s", rl, want)
		}
	}
	rej := RejectCodes()
	if rej[len(rej)-1] != CodeOther {
		t.Errorf("RejectCodes() does not end with %q", CodeOther)
	}
	for _, c := range rl {
		if !slices.Contains(rej, c) {
			t.Errorf("rate-limit code %s is not a reject code: Reject(%s) could not count it", c, c)
		}
	}
	seen := map[string]bool{}
	for _, c := range Codes() {
		if seen[c.Code] || c.Meaning == "" || len(c.Code) != 5 {
			t.Errorf("bad code entry %+v", c)
		}
		seen[c.Code] = true
	}
	for _, l := range LabelNames() {
		vals := LabelValues(l)
		if (l == LabelInstID) != (vals == nil) {
			t.Errorf("LabelValues(%q) = %v", l, vals)
		}
	}
	for _, b := range BookChannels() {
		if !slices.Contains(Channels(), b) {
			t.Errorf("book channel %q is not a channel", b)
		}
	}
}
