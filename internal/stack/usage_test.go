package stack

import (
	"testing"

	units "github.com/docker/go-units"
)

// docker stats prints sizes with units.BytesSize; ContainerUsage reads
// them back with units.RAMInBytes: the round trip keeps the value.
func TestStatsSizesRoundTrip(t *testing.T) {
	for _, b := range []float64{0, 512 << 10, 12.5 * (1 << 20), 380 * (1 << 20), 1.5 * (1 << 30)} {
		got, err := units.RAMInBytes(units.BytesSize(b))
		if err != nil || float64(got) < b*0.999 || float64(got) > b*1.001 {
			t.Errorf("%v bytes printed %q, read back %v (%v)", b, units.BytesSize(b), got, err)
		}
	}
}
