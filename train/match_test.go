package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
)

// edLoop is the energy distance of energyDistance written out: rows of u
// (n×D) equally weighted against rows of v (M×D) weighted by w.
func edLoop(u, v, w []float64, n, M, D int) float64 {
	dist := func(a, b []float64) float64 {
		var s float64
		for k := range a {
			s += (a[k] - b[k]) * (a[k] - b[k])
		}
		return math.Sqrt(s + matchSmooth*matchSmooth)
	}
	row := func(x []float64, i int) []float64 { return x[i*D : (i+1)*D] }
	var cross, self, target float64
	for i := range n {
		for j := range M {
			cross += w[j] * dist(row(u, i), row(v, j)) / float64(n)
		}
		for k := range n {
			self += dist(row(u, i), row(u, k)) / float64(n*n)
		}
	}
	for j := range M {
		for l := range M {
			target += w[j] * w[l] * dist(row(v, j), row(v, l))
		}
	}
	return 2*cross - self - target
}

// nearestLoop is nearestDistance written out.
func nearestLoop(u, v, w []float64, n, M, D int) float64 {
	var s float64
	for j := range M {
		least := math.Inf(1)
		for i := range n {
			var d float64
			for k := range D {
				d += (u[i*D+k] - v[j*D+k]) * (u[i*D+k] - v[j*D+k])
			}
			least = min(least, d)
		}
		s += w[j] * least
	}
	return s
}

// TestMatchDistances checks energyDistance and nearestDistance and their
// gradients with respect to the equally weighted rows against the sums
// written out and their central differences.
func TestMatchDistances(t *testing.T) {
	for _, c := range []struct {
		name string
		node func(t *autodiff.Tape, u, v, wt *autodiff.Node) *autodiff.Node
		loop func(u, v, w []float64, n, M, D int) float64
	}{
		{MatchEnergy, energyDistance, edLoop},
		{MatchNearest, nearestDistance, nearestLoop},
	} {
		t.Run(c.name, func(t *testing.T) { testMatchDistance(t, c.node, c.loop) })
	}
}

func testMatchDistance(t *testing.T, node func(t *autodiff.Tape, u, v, wt *autodiff.Node) *autodiff.Node, loop func(u, v, w []float64, n, M, D int) float64) {
	const n, M, D = 6, 5, 2
	r := rand.New(rand.NewPCG(5, 6))
	u, v, w := make([]float64, n*D), make([]float64, M*D), make([]float64, M)
	for i := range u {
		u[i] = r.NormFloat64()
	}
	for i := range v {
		v[i] = 1 + r.NormFloat64()
	}
	var sum float64
	for j := range w {
		w[j] = r.Float64()
		sum += w[j]
	}
	for j := range w {
		w[j] /= sum
	}
	tp := autodiff.NewTape(autodiff.Float64)
	uv := tp.Variable("u", autodiff.FromFloat64s(autodiff.Float64, []int{n, D}, u))
	ed := node(tp, uv, tp.Const(v, M, D), tp.Const(w, M))
	g := tp.InputGradient(ed, uv)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	if err := autodiff.NewMachine(tp).Run(); err != nil {
		t.Fatal(err)
	}
	want := loop(u, v, w, n, M, D)
	if got := ed.Float64s()[0]; math.Abs(got-want) > 1e-12 {
		t.Errorf("distance %v, want %v", got, want)
	}
	const h = 1e-6
	for i := range u {
		up, down := append([]float64(nil), u...), append([]float64(nil), u...)
		up[i] += h
		down[i] -= h
		fd := (loop(up, v, w, n, M, D) - loop(down, v, w, n, M, D)) / (2 * h)
		if got := g.Float64s()[i]; math.Abs(got-fd) > 1e-6 {
			t.Errorf("∂/∂u[%d] = %v, want %v", i, got, fd)
		}
	}
}

// TestGeneratorMatch checks the match term of the generator step on the
// quadratic energy of p_θ = N((0.5, −0.25), (0.5, 0.25)²) and an affine
// generator: its value, on the weighted data draws, is the energy
// distance between q and p_θ computed from exact samples of both, small
// when q = p_θ and large when q is far from it; and before
// GeneratorMatchFrom the generator step has no match term.
func TestGeneratorMatch(t *testing.T) {
	mu, sigma := []float64{0.5, -0.25}, []float64{0.5, 0.25}
	cases := []struct {
		m, s []float64
	}{
		{mu, sigma},
		{[]float64{3, 3}, []float64{0.2, 0.2}},
		{[]float64{0.5, 0.5}, []float64{1, 0.25}},
	}
	for _, c := range cases {
		ep, gp := quadraticPair(t, mu, sigma, c.m, c.s)
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.ImportanceNegatives, o.ImportanceFrom = 2000, 1, 0
		o.ImportanceData, o.ImportanceWidth, o.ImportanceBroad, o.ImportanceBroadWidth = 1, 1, 1, 0
		o.GeneratorMatch, o.GeneratorMatchFrom, o.GeneratorMatchKind = 1, 1, MatchEnergy
		tr, err := NewTrainer(context.Background(), o, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.gStages) != 2 {
			t.Fatalf("%d generator stages, want 2", len(tr.gStages))
		}
		if _, ok := tr.generatorProgram(0).scalars[colGeneratorMatch]; ok {
			t.Errorf("before GeneratorMatchFrom: the generator step has a match term")
		}
		p := tr.generatorProgram(1)
		if err := p.run(1, tr.sampler, tr.zRNG, tr.noise); err != nil {
			t.Fatal(err)
		}
		got := p.values[colGeneratorMatch]
		_, std := tr.data.Moments()
		want := sampledEnergyDistance(mu, sigma, c.m, c.s, std, 200000)
		t.Logf("q = N(%v, %v²): match term %.4f, sampled energy distance %.4f", c.m, c.s, got, want)
		if math.Abs(got-want) > 0.05*want+0.02 {
			t.Errorf("q = N(%v, %v²): match term %v, want the energy distance %v", c.m, c.s, got, want)
		}
	}
}

// sampledEnergyDistance estimates the energy distance between
// N(m1, s1²) and N(m2, s2²) (diagonal) from n independent pairs of exact
// draws, distances in units of std.
func sampledEnergyDistance(m1, s1, m2, s2, std []float64, n int) float64 {
	r := rand.New(rand.NewPCG(7, 8))
	return sampledDistance(gaussianDraw(r, m1, s1, std), gaussianDraw(r, m2, s2, std), n)
}

// gaussianDraw returns a sampler of N(m, s²) (diagonal), in units of std.
func gaussianDraw(r *rand.Rand, m, s, std []float64) func() []float64 {
	return func() []float64 {
		x := make([]float64, len(m))
		for k := range m {
			x[k] = (m[k] + s[k]*r.NormFloat64()) / std[k]
		}
		return x
	}
}

// sampledDistance estimates the energy distance between the laws of the
// samplers p and q from n independent pairs of draws of each.
func sampledDistance(p, q func() []float64, n int) float64 {
	dist := func(a, b []float64) float64 {
		var s float64
		for k := range a {
			s += (a[k] - b[k]) * (a[k] - b[k])
		}
		return math.Sqrt(s)
	}
	var xy, xx, yy float64
	for range n {
		x1, x2, y1, y2 := q(), q(), p(), p()
		xy += dist(x1, y1)
		xx += dist(x1, x2)
		yy += dist(y1, y2)
	}
	return (2*xy - xx - yy) / float64(n)
}

// TestGeneratorMatchData checks the match term with the data for target:
// its energy distance between an affine generator's samples and the
// batch's data rows is the energy distance between q and the training
// rows, sampled, whatever the energy.
func TestGeneratorMatchData(t *testing.T) {
	mu, sigma := []float64{0.5, -0.25}, []float64{0.5, 0.25}
	for _, c := range []struct{ m, s []float64 }{
		{[]float64{0, 0}, []float64{1, 1}},
		{[]float64{3, 3}, []float64{0.2, 0.2}},
	} {
		ep, gp := quadraticPair(t, mu, sigma, c.m, c.s)
		o := tinyOptions(t)
		o.Energy, o.Generator, o.Upper = ep, gp, "none"
		o.BatchSize, o.DataRows = 2000, 20000
		o.GeneratorMatch, o.GeneratorMatchFrom, o.GeneratorMatchKind, o.GeneratorMatchTarget = 1, 0, MatchEnergy, MatchData
		tr, p := firstStep(t, o, (*Trainer).generatorProgram)
		got := p.values[colGeneratorMatch]
		_, std := tr.data.Moments()
		r := rand.New(rand.NewPCG(9, 10))
		d := tr.data
		row := func() []float64 {
			i := r.IntN(d.Rows)
			x := slices.Clone(d.Data[i*d.Width : (i+1)*d.Width])
			for k := range x {
				x[k] /= std[k]
			}
			return x
		}
		want := sampledDistance(row, gaussianDraw(r, c.m, c.s, std), 200000)
		t.Logf("q = N(%v, %v²): match term %.4f, sampled energy distance to the data %.4f", c.m, c.s, got, want)
		if math.Abs(got-want) > 0.05*want+0.02 {
			t.Errorf("q = N(%v, %v²): match term %v, want the energy distance to the data %v", c.m, c.s, got, want)
		}
	}
}

// TestGeneratorMatchCheck lists invalid settings of the match term.
func TestGeneratorMatchCheck(t *testing.T) {
	cases := []struct {
		match, data  float64
		kind, target string
		what         string // "" when valid
	}{
		{0, 0, "", "", ""},
		{1, 1, "", "", ""},
		{1, 1, MatchNearest, MatchModel, ""},
		{1, 1, MatchEnergy, MatchData, ""},
		{1, 1, "closest", "", `"closest": want nearest or energy`},
		{1, 1, "", "rows", `"rows": want model or data`},
		{-1, 1, "", "", "[0, 10000]"},
		{math.NaN(), 1, "", "", "[0, 10000]"},
		{1, 0, "", "", ""},
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.GeneratorMatch, o.ImportanceData, o.GeneratorMatchKind, o.GeneratorMatchTarget = c.match, c.data, c.kind, c.target
		o.ImportanceNegatives = 1
		err := o.Check()
		switch {
		case c.what == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case c.what != "" && (err == nil || !strings.Contains(err.Error(), "GeneratorMatch") || !strings.Contains(err.Error(), c.what)):
			t.Errorf("%+v: %v, want an error naming GeneratorMatch and %q", c, err, c.what)
		}
	}
}
