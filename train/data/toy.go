package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// toySets maps each toy data set's name to its generator, which fills dst
// with len(dst)/2 rows of two values drawn from r.
var toySets = map[string]func(r *RNG, dst []float64){
	"25gaussians":  gaussians25,
	"8gaussians":   gaussians8,
	"swissroll":    swissRoll,
	"moons":        moons,
	"rings":        rings,
	"pinwheel":     pinwheel,
	"checkerboard": checkerboard,
	"2spirals":     twoSpirals,
}

// ToyNames returns the names of the toy data sets, sorted.
func ToyNames() []string {
	names := make([]string, 0, len(toySets))
	for name := range toySets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Toy returns n points of the two-dimensional toy data set name, as n rows of
// two values, row after row. The points depend only on name, n and seed: the
// same arguments give the same points on every run. The package
// documentation defines each set.
func Toy(name string, n int, seed uint64) ([]float64, error) {
	gen, ok := toySets[name]
	if !ok {
		return nil, fmt.Errorf("unknown toy data set %q (known: %s)", name, strings.Join(ToyNames(), ", "))
	}
	if n < 1 {
		return nil, fmt.Errorf("toy data set %q: %d points asked for, need at least 1", name, n)
	}
	dst := make([]float64, 2*n)
	gen(NewRNG(seed, "toy/"+name), dst)
	return dst, nil
}

// shuffleRows shuffles the rows of two values in dst.
func shuffleRows(r *RNG, dst []float64) {
	r.Shuffle(len(dst)/2, func(i, j int) {
		dst[2*i], dst[2*j] = dst[2*j], dst[2*i]
		dst[2*i+1], dst[2*j+1] = dst[2*j+1], dst[2*i+1]
	})
}

func gaussians25(r *RNG, dst []float64) {
	for i := range len(dst) / 2 {
		c := i % 25
		x := float64(2 * (c/5 - 2))
		y := float64(2 * (c%5 - 2))
		dst[2*i] = (x + 0.05*r.NormFloat64()) / 2.828
		dst[2*i+1] = (y + 0.05*r.NormFloat64()) / 2.828
	}
	shuffleRows(r, dst)
}

// centres8 are the centres of 8gaussians before scaling by 2.
var centres8 = [8][2]float64{
	{1, 0}, {-1, 0}, {0, 1}, {0, -1},
	{math.Sqrt2 / 2, math.Sqrt2 / 2}, {math.Sqrt2 / 2, -math.Sqrt2 / 2},
	{-math.Sqrt2 / 2, math.Sqrt2 / 2}, {-math.Sqrt2 / 2, -math.Sqrt2 / 2},
}

func gaussians8(r *RNG, dst []float64) {
	for i := range len(dst) / 2 {
		c := centres8[r.IntN(8)]
		dst[2*i] = (2*c[0] + 0.02*r.NormFloat64()) / 1.414
		dst[2*i+1] = (2*c[1] + 0.02*r.NormFloat64()) / 1.414
	}
}

func swissRoll(r *RNG, dst []float64) {
	const noise = 1.0
	for i := range len(dst) / 2 {
		t := 1.5 * math.Pi * (1 + 2*r.Float64())
		dst[2*i] = (t*math.Cos(t) + noise*r.NormFloat64()) / 5
		dst[2*i+1] = (t*math.Sin(t) + noise*r.NormFloat64()) / 5
	}
}

// linspace returns the k-th of m evenly spaced points from 0 to hi, with hi
// included (numpy's linspace(0, hi, m)) or not (endpoint=False).
func linspace(k, m int, hi float64, endpoint bool) float64 {
	div := m
	if endpoint {
		div = m - 1
	}
	if div <= 0 {
		return 0
	}
	return hi * float64(k) / float64(div)
}

func moons(r *RNG, dst []float64) {
	const noise = 0.1
	n := len(dst) / 2
	out := n / 2
	in := n - out
	for i := range out {
		a := linspace(i, out, math.Pi, true)
		dst[2*i], dst[2*i+1] = math.Cos(a), math.Sin(a)
	}
	for i := range in {
		a := linspace(i, in, math.Pi, true)
		dst[2*(out+i)], dst[2*(out+i)+1] = 1-math.Cos(a), 0.5-math.Sin(a)
	}
	shuffleRows(r, dst)
	for i := range dst {
		dst[i] += noise * r.NormFloat64()
	}
}

func rings(r *RNG, dst []float64) {
	const noise = 0.08
	n := len(dst) / 2
	q := n / 4
	counts := [4]int{q, q, q, n - 3*q}
	radii := [4]float64{1, 0.75, 0.5, 0.25}
	i := 0
	for ring, m := range counts {
		for k := range m {
			a := linspace(k, m, 2*math.Pi, false)
			dst[2*i] = 3 * radii[ring] * math.Cos(a)
			dst[2*i+1] = 3 * radii[ring] * math.Sin(a)
			i++
		}
	}
	shuffleRows(r, dst)
	for i := range dst {
		dst[i] += noise * r.NormFloat64()
	}
}

func pinwheel(r *RNG, dst []float64) {
	const (
		arms          = 5
		radialStd     = 0.3
		tangentialStd = 0.1
		rate          = 0.25
	)
	for i := range len(dst) / 2 {
		f0 := 1 + radialStd*r.NormFloat64()
		f1 := tangentialStd * r.NormFloat64()
		a := 2*math.Pi*float64(i%arms)/arms + rate*math.Exp(f0)
		sin, cos := math.Sincos(a)
		dst[2*i] = 2 * (f0*cos + f1*sin)
		dst[2*i+1] = 2 * (f1*cos - f0*sin)
	}
	shuffleRows(r, dst)
}

func checkerboard(r *RNG, dst []float64) {
	for i := range len(dst) / 2 {
		x1 := 4*r.Float64() - 2
		x2 := r.Float64() - float64(2*r.IntN(2))
		if int(math.Floor(x1))&1 == 1 { // floor(x1) mod 2, also for negative x1
			x2++
		}
		dst[2*i], dst[2*i+1] = 2*x1, 2*x2
	}
}

func twoSpirals(r *RNG, dst []float64) {
	const noise = 0.1
	for i := range len(dst) / 2 {
		t := math.Sqrt(r.Float64()) * 3 * math.Pi // 540° in radians
		x := -t*math.Cos(t) + 0.5*r.Float64()
		y := t*math.Sin(t) + 0.5*r.Float64()
		if i%2 == 1 {
			x, y = -x, -y
		}
		dst[2*i] = x/3 + noise*r.NormFloat64()
		dst[2*i+1] = y/3 + noise*r.NormFloat64()
	}
	shuffleRows(r, dst)
}
