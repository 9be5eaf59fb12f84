//go:build unix

package train

import (
	"strings"
	"testing"
)

// BenchmarkStepGenerator times one iteration with the default MLP
// generator and with the flow generator of the README's comparison, on
// the default energy, data and batch, for the two bound pairs that use
// the generator's Jacobian, as BenchmarkStepGenerator/GENERATOR/PAIR.
func BenchmarkStepGenerator(b *testing.B) {
	for _, gen := range []string{"mlp:2-100-100-2:prelu", "flow:2-6-64"} {
		kind, _, _ := strings.Cut(gen, ":")
		b.Run(kind, func(b *testing.B) {
			for _, pair := range [][2]string{{"jacobian-exact", "gp"}, {"jacobian", "diffusion"}} {
				b.Run(pair[0]+"-"+pair[1], func(b *testing.B) {
					o := DefaultOptions()
					o.DataRows = 5000
					o.Generator = gen
					o.Lower, o.Upper = pair[0], pair[1]
					o.Out = b.TempDir()
					benchmarkStep(b, o, Hooks{})
				})
			}
		})
	}
}
