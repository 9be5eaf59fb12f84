package train

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand"
	"os"
	"slices"
	"strings"
	"testing"
)

// adamGolden is testdata/adam_golden.json, written by gen_adam.py with
// torch.optim.Adam.
type adamGolden struct {
	Torch string `json:"torch"`
	Cases []struct {
		Name                  string
		LR, Beta1, Beta2, Eps float64
		Params                [][]float64
		Grads                 [][][]float64
		After                 [][][]float64
	}
}

func TestAdamPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/adam_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g adamGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases in adam_golden.json")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if len(c.Grads) == 0 || len(c.Grads) != len(c.After) {
				t.Fatalf("%d steps of gradients, %d results", len(c.Grads), len(c.After))
			}
			a := &Adam{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps}
			params := cloneTensors(c.Params)
			var worst float64
			for step, grads := range c.Grads {
				a.Step(params, grads)
				for i, p := range params {
					for j, v := range p {
						want := c.After[step][i][j]
						d := math.Abs(v - want)
						worst = max(worst, d)
						if d > 1e-12 {
							t.Errorf("step %d, parameter %d, value %d: %v, PyTorch %s gives %v", step+1, i, j, v, g.Torch, want)
						}
					}
				}
			}
			t.Logf("largest difference from PyTorch %s: %g", g.Torch, worst)
		})
	}
}

// TestAdamByHand checks three steps against the update formula evaluated
// with 256-bit floats.
func TestAdamByHand(t *testing.T) {
	tests := []struct {
		name                  string
		lr, beta1, beta2, eps float64
	}{
		{"toy", 2e-4, 0, 0.9, 1e-6},
		{"image", 5e-5, 0.9, 0.999, 1e-6},
		{"eps matters", 0.5, 0.3, 0.8, 0.1},
	}
	p0 := []float64{0.75, -1.5, 3}
	grads := [][]float64{{0.2, -3, 1e-4}, {-0.1, 2.5, 0}, {0.4, -1, -2e-4}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Adam{LR: tt.lr, Beta1: tt.beta1, Beta2: tt.beta2, Eps: tt.eps}
			p := [][]float64{slices.Clone(p0)}
			for _, g := range grads {
				a.Step(p, [][]float64{g})
			}
			want := adamBig(p0, grads, tt.lr, tt.beta1, tt.beta2, tt.eps)
			for j := range p0 {
				if d := math.Abs(p[0][j] - want[j]); d > 1e-12*max(1, math.Abs(want[j])) {
					t.Errorf("value %d: %v, want %v", j, p[0][j], want[j])
				}
				if p[0][j] == p0[j] && grads[0][j] != 0 {
					t.Errorf("value %d did not move", j)
				}
			}
			if a.Steps() != len(grads) {
				t.Errorf("Steps() = %d, want %d", a.Steps(), len(grads))
			}
		})
	}
}

// adamBig runs Adam on p0 with the gradients in 256-bit arithmetic:
//
//	m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
//	p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps)
func adamBig(p0 []float64, grads [][]float64, lr, beta1, beta2, eps float64) []float64 {
	const prec = 256
	f := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	one := f(1)
	b1, b2 := f(beta1), f(beta2)
	b1t, b2t := f(1), f(1) // β1ᵗ, β2ᵗ
	p := make([]*big.Float, len(p0))
	m := make([]*big.Float, len(p0))
	v := make([]*big.Float, len(p0))
	for j := range p0 {
		p[j], m[j], v[j] = f(p0[j]), f(0), f(0)
	}
	for _, g := range grads {
		b1t.Mul(b1t, b1)
		b2t.Mul(b2t, b2)
		stepSize := f(0).Quo(f(lr), f(0).Sub(one, b1t))
		bc2Sqrt := f(0).Sqrt(f(0).Sub(one, b2t))
		for j := range p {
			gj := f(g[j])
			m[j].Add(f(0).Mul(b1, m[j]), f(0).Mul(f(0).Sub(one, b1), gj))
			v[j].Add(f(0).Mul(b2, v[j]), f(0).Mul(f(0).Sub(one, b2), f(0).Mul(gj, gj)))
			denom := f(0).Add(f(0).Quo(f(0).Sqrt(v[j]), bc2Sqrt), f(eps))
			p[j].Sub(p[j], f(0).Quo(f(0).Mul(stepSize, m[j]), denom))
		}
	}
	out := make([]float64, len(p))
	for j := range p {
		out[j], _ = p[j].Float64()
	}
	return out
}

// TestAdamResume checks that an optimizer restored from a saved state takes
// the same steps as one never stopped.
func TestAdamResume(t *testing.T) {
	grads := func(step int) [][]float64 {
		return [][]float64{{math.Sin(float64(step)), math.Cos(float64(3 * step))}, {float64(step%3) - 1}}
	}
	for _, stop := range []int{0, 1, 4} {
		ref := NewAdam(1e-2)
		pRef := [][]float64{{1, 2}, {3}}
		for s := range 8 {
			ref.Step(pRef, grads(s))
		}

		a := NewAdam(1e-2)
		p := [][]float64{{1, 2}, {3}}
		for s := range stop {
			a.Step(p, grads(s))
		}
		state := a.State()
		b := &Adam{}
		if err := b.SetState(state, p); err != nil {
			t.Fatalf("stop %d: %v", stop, err)
		}
		// The state is a copy: more steps of a do not change it.
		a.Step(cloneTensors(p), grads(99))
		for s := stop; s < 8; s++ {
			b.Step(p, grads(s))
		}
		for i := range p {
			for j := range p[i] {
				if math.Float64bits(p[i][j]) != math.Float64bits(pRef[i][j]) {
					t.Errorf("stop %d: parameter %d value %d = %v, uninterrupted %v", stop, i, j, p[i][j], pRef[i][j])
				}
			}
		}
	}
}

func TestAdamSetStateErrors(t *testing.T) {
	params := [][]float64{{1, 2}, {3}}
	good := func() AdamState {
		return AdamState{Step: 2, LR: 1e-3, Beta2: 0.9, Eps: 1e-6,
			M: [][]float64{{0.1, 0.2}, {0.3}}, V: [][]float64{{0.01, 0.02}, {0.03}}}
	}
	tests := []struct {
		name   string
		modify func(s *AdamState)
		want   string
	}{
		{"negative step", func(s *AdamState) { s.Step = -1 }, "step -1"},
		{"steps without moments", func(s *AdamState) { s.M, s.V = nil, nil }, "without moments"},
		{"moments without steps", func(s *AdamState) { s.Step = 0 }, "before the first step"},
		{"too few parameters", func(s *AdamState) { s.M, s.V = s.M[:1], s.V[:1] }, "need 2"},
		{"wrong length", func(s *AdamState) { s.V[0] = s.V[0][:1] }, "parameter 0"},
		{"NaN moment", func(s *AdamState) { s.M[1][0] = math.NaN() }, "parameter 1, value 0"},
		{"negative second moment", func(s *AdamState) { s.V[0][1] = -1 }, "parameter 0, value 1"},
	}
	for _, tt := range tests {
		a := NewAdam(0.5)
		s := good()
		tt.modify(&s)
		err := a.SetState(s, params)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
		if a.LR != 0.5 || a.Steps() != 0 {
			t.Errorf("%s: a failed SetState changed the optimizer", tt.name)
		}
	}
	a := NewAdam(0.5)
	if err := a.SetState(good(), params); err != nil {
		t.Fatal(err)
	}
	if a.LR != 1e-3 || a.Steps() != 2 {
		t.Errorf("after SetState: LR %g, %d steps", a.LR, a.Steps())
	}
	if err := a.SetState(AdamState{LR: 1}, params); err != nil {
		t.Errorf("fresh state: %v", err)
	}
}

func TestAdamStepPanics(t *testing.T) {
	tests := []struct {
		name          string
		params, grads [][]float64
	}{
		{"count", [][]float64{{1}, {2}}, [][]float64{{1}}},
		{"length", [][]float64{{1}, {2}}, [][]float64{{1}, {2, 3}}},
		{"state", [][]float64{{1, 2}, {3}}, [][]float64{{1, 2}, {3}}}, // after steps on other shapes
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			a := NewAdam(1)
			if tt.name == "state" {
				a.Step([][]float64{{1}, {3}}, [][]float64{{1}, {3}})
			}
			a.Step(tt.params, tt.grads)
		}()
	}
}

// TestAdamStepBits checks Adam.Step, whose values go four at a time on
// AVX2, bit for bit against the update written out element by element,
// over lengths that leave every remainder of four and over two steps.
func TestAdamStepBits(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	lens := []int{0, 1, 3, 4, 7, 13, 1000}
	params, grads := make([][]float64, len(lens)), make([][]float64, len(lens))
	want := make([][]float64, len(lens))
	for i, n := range lens {
		params[i], grads[i] = make([]float64, n), make([]float64, n)
		for j := range n {
			params[i][j], grads[i][j] = rng.NormFloat64(), rng.NormFloat64()*math.Pow(10, float64(rng.Intn(7)-3))
		}
		want[i] = slices.Clone(params[i])
	}
	a := NewAdam(1e-3)
	a.Beta1 = 0.5
	ms, vs := make([][]float64, len(lens)), make([][]float64, len(lens))
	for i, n := range lens {
		ms[i], vs[i] = make([]float64, n), make([]float64, n)
	}
	for step := 1; step <= 2; step++ {
		a.Step(params, grads)
		n := float64(step)
		stepSize := a.LR / (1 - math.Pow(a.Beta1, n))
		bc2 := math.Sqrt(1 - math.Pow(a.Beta2, n))
		for i := range lens {
			for j, g := range grads[i] {
				mb1, c1g := ms[i][j]*a.Beta1, (1-a.Beta1)*g
				ms[i][j] = mb1 + c1g
				vb2, c2g := vs[i][j]*a.Beta2, (1-a.Beta2)*g
				c2gg := c2g * g
				vs[i][j] = vb2 + c2gg
				num := stepSize * ms[i][j]
				want[i][j] -= num / (math.Sqrt(vs[i][j])/bc2 + a.Eps)
			}
		}
	}
	for i := range lens {
		for j := range params[i] {
			if math.Float64bits(params[i][j]) != math.Float64bits(want[i][j]) {
				t.Fatalf("parameter %d, value %d: %v, want %v", i, j, params[i][j], want[i][j])
			}
		}
	}
}
