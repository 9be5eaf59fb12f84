package bounds_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/internal/graphtest"
)

// TestLatentKnownTruth measures the latent-space bound on the known-truth
// pairs with D = d: s chosen from bounds.LatentScales by the smallest mean
// on the first half of the draws, the value read on the second half.
func TestLatentKnownTruth(t *testing.T) {
	var table strings.Builder
	fmt.Fprintf(&table, "%-18s %-8s %10s %10s %8s %6s  %s\n", "case", "C_π", "U (KL)", "true KL", "stderr", "s", "U at s = 0 … 0.5 (selection half)")
	for _, c := range truthCases() {
		t.Run(c.name, func(t *testing.T) {
			tp, nets, _, z, fill, tr := c.setup()
			lsi := 1.0
			if tr.piLSI > 0 {
				lsi = tr.piLSI
			}
			ests, err := bounds.LatentGrid(nets, bounds.Batch{Z: z}, lsi, bounds.LatentScales)
			var ue *bounds.UnavailableError
			if !c.available {
				if !errors.As(err, &ue) {
					t.Errorf("D ≠ d: error %v, want not available", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Err(); err != nil {
				t.Fatal(err)
			}
			fill(nil)
			vm := autodiff.NewMachine(tp)
			defer vm.Close()
			graphtest.Run(t, vm)
			best, sel := 0, make([]string, len(ests))
			var half [][]float64
			for k, e := range ests {
				v := graphtest.Values(e.Samples)
				n := len(v) / 2
				m, _ := meanSE(v[:n])
				sel[k] = fmt.Sprintf("%.4f", m)
				half = append(half, v[n:])
				if pm, _ := meanSE(graphtest.Values(ests[best].Samples)[:n]); m < pm {
					best = k
				}
			}
			u, se := meanSE(half[best])
			cpi := "1"
			if tr.piLSI > 0 {
				cpi = fmt.Sprintf("%.3g", tr.piLSI)
			}
			fmt.Fprintf(&table, "%-18s %-8s %10.4f %10.4f %8.4f %6.2f  %s\n", c.name, cpi, u, tr.kl, se, bounds.LatentScales[best], strings.Join(sel, " "))
			if c.kinked {
				if !ests[best].Surrogate {
					t.Errorf("kinked generator: latent value not marked as no bound")
				}
				return
			}
			if tr.piLSI > 0 && u < tr.kl-3*se {
				t.Errorf("with the true C_π = %.3g: U = %.5g ± %.2g below KL %.5g", tr.piLSI, u, se, tr.kl)
			}
			if c.kl0 && math.Abs(u) > 0.02 {
				t.Errorf("KL = 0: U = %.5g, want 0 within 0.02", u)
			}
		})
	}
	t.Log("\n" + table.String())
}
