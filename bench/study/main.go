// Command study evaluates the checkpoints of toy training runs over the
// run, for the drift study of bench/drift.md and the recipe table of
// bench/study.sh. For every checkpoint of each RUN directory (or those of
// the iterations given by -steps) it exports the models as training would
// have at that iteration (train.ExportCheckpoint; with --ema, the average)
// and prints one CSV row (-raw: the last parameters instead of the
// average):
//
//   - log Z by the trapezoid rule on a grid of -grid² intervals over the
//     training data's range widened by twice that range on each side (the
//     box of bench/matrix.sh), and the smallest and largest energy on it;
//     log Z again on a box widened by eight times the range (log_z_wide):
//     when it exceeds log Z by more than 1, exp(−E) has no finite
//     integral and the test log-likelihood means nothing (bench/matrix.sh's
//     "not normalisable");
//   - the mean energy of -rows held-out points (the toy set drawn with
//     seed 99, as bench/matrix.sh) and of as many generator samples, and
//     the test log-likelihood −(mean E(held-out) + log Z);
//   - for Gaussian-mixture toy sets (25gaussians, 8gaussians): the modes
//     covered (a mode counts when at least 1 % of the generator's samples
//     lie within 3σ of its centre) and the share of samples within 3σ of
//     some centre;
//   - from metrics.csv, over the log rows since the previous checkpoint:
//     the mean of the gp bound's penalty GP and the share of rows in which
//     the hinge max(0, λ_GP·GP − τ) is active (per iteration when the run
//     logged every iteration), with the run's λ_GP and τ from -lambda-gp
//     and -tau.
//
// Usage:
//
//	go run -tags openblas ./bench/study [-steps 5000,20000] [-grid 1024] RUN...
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"context"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/logz"
	"github.com/ebmpipe/ebmpipe/train"
	traindata "github.com/ebmpipe/ebmpipe/train/data"
)

func main() {
	stepsFlag := flag.String("steps", "", "comma-separated iterations to evaluate (default: every checkpoint)")
	grid := flag.Int("grid", 1024, "grid intervals per axis for log Z")
	rows := flag.Int("rows", 10000, "held-out points and generator samples")
	lambda := flag.Float64("lambda-gp", 1e-3, "λ_GP of the run, for the hinge's activity")
	tau := flag.Float64("tau", 1, "τ of the run, for the hinge's activity")
	header := flag.Bool("header", true, "print the CSV header")
	raw := flag.Bool("raw", false, "evaluate the last parameters of a run with --ema, not their average")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("study: ")
	var want []int
	for _, s := range strings.Split(*stepsFlag, ",") {
		if s = strings.TrimSpace(s); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				log.Fatalf("-steps: %q is not a number", s)
			}
			want = append(want, n)
		}
	}
	w := csv.NewWriter(os.Stdout)
	if *header {
		w.Write([]string{"run", "step", "log_z", "log_z_err", "log_z_wide", "e_grid_min", "e_grid_max", "e_test", "e_samples", "test_ll", "modes", "high_quality", "weight_kl", "gp_mean", "hinge_active"})
	}
	for _, run := range flag.Args() {
		if err := study(w, run, want, *grid, *rows, *lambda, *tau, !*raw); err != nil {
			log.Fatal(err)
		}
		w.Flush()
	}
	w.Flush()
}

// study writes the rows of one run.
func study(w *csv.Writer, run string, want []int, grid, rows int, lambda, tau float64, average bool) error {
	dir := filepath.Join(run, train.CheckpointDir)
	entries, err := filepath.Glob(filepath.Join(dir, "step-*.ckpt"))
	if err != nil {
		return err
	}
	slices.Sort(entries)
	data, err := toyName(run)
	if err != nil {
		return err
	}
	metrics, err := readMetrics(filepath.Join(run, train.MetricsFile))
	if err != nil {
		return err
	}
	prev := 0
	for _, path := range entries {
		step, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "step-"), ".ckpt"))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(want) > 0 && !slices.Contains(want, step) {
			continue
		}
		tmp, err := os.MkdirTemp("", "study")
		if err != nil {
			return err
		}
		ef, gf, _, err := train.ExportCheckpoint(context.Background(), path, tmp, average, train.Hooks{})
		if err != nil {
			return err
		}
		r, err := evaluate(data, ef, gf, grid, rows)
		os.RemoveAll(tmp)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		gpMean, active := hinge(metrics, prev, step, lambda, tau)
		prev = step
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
		w.Write([]string{run, strconv.Itoa(step), f(r.logZ), f(r.logZErr), f(r.logZWide), f(r.eMin), f(r.eMax), f(r.eTest), f(r.eSamples),
			f(-(r.eTest + r.logZ)), strconv.Itoa(r.modes), f(r.hq), f(r.weightKL), f(gpMean), f(active)})
		w.Flush()
	}
	return nil
}

// toyName reads the toy data set of a run from its checkpoint options.
func toyName(run string) (string, error) {
	c, err := train.LoadCheckpoint(filepath.Join(run, train.CheckpointDir))
	if err != nil {
		return "", err
	}
	s := c.Meta["options"]
	i := strings.Index(s, `"data":"toy:`)
	if i < 0 {
		return "", fmt.Errorf("%s: not a toy run", run)
	}
	s = s[i+len(`"data":"`):]
	return s[:strings.IndexByte(s, '"')], nil
}

type result struct {
	logZ, logZErr, logZWide, eMin, eMax, eTest, eSamples, hq, weightKL float64
	modes                                                              int
}

// evaluate measures the exported energy ef and generator gf on data.
func evaluate(data, ef, gf string, grid, rows int) (result, error) {
	var r result
	em, err := onnx.Load(ef)
	if err != nil {
		return r, err
	}
	gm, err := onnx.Load(gf)
	if err != nil {
		return r, err
	}
	eng, err := engine.NewGoEngine(em, 4096)
	if err != nil {
		return r, err
	}
	gen, err := engine.NewGoEngine(gm, 4096)
	if err != nil {
		return r, err
	}
	trainData, err := traindata.LoadData(data, 100000, 1)
	if err != nil {
		return r, err
	}
	lo, hi := box(trainData.Data, 2)
	z, err := logz.Estimate(context.Background(), eng, logz.Options{Method: "grid", GridSize: grid, Bounds: []float64{lo[0], hi[0], lo[1], hi[1]},
		Samples: 2, BatchSize: 4096, Seed: 1})
	if err != nil {
		return r, err
	}
	r.logZ, r.logZErr = z.Value, z.StdErr
	wlo, whi := box(trainData.Data, 8)
	wide, err := logz.Estimate(context.Background(), eng, logz.Options{Method: "grid", GridSize: grid, Bounds: []float64{wlo[0], whi[0], wlo[1], whi[1]},
		Samples: 2, BatchSize: 4096, Seed: 1})
	if err != nil {
		return r, err
	}
	r.logZWide = wide.Value
	r.eMin, r.eMax = gridRange(eng, lo, hi, 256)
	test, err := traindata.LoadData(data, rows, 99)
	if err != nil {
		return r, err
	}
	r.eTest = meanEnergy(eng, test.Data)
	zs := make([]float64, 2*rows)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range zs {
		zs[i] = rng.NormFloat64()
	}
	samples := runAll(gen, zs, 2)
	r.eSamples = meanEnergy(eng, samples)
	r.modes, r.hq = coverage(data, samples)
	r.weightKL = weightKL(eng, data)
	return r, nil
}

// weightKL is KL(u ‖ w) between the equal weights u of a Gaussian-mixture
// toy set's modes and the model's mode weights w: the mass of exp(−E) in
// each mode's Voronoi cell, on a grid of spacing 0.005 over the modes'
// square widened by one spacing of modes, over the mass of the square.
// It is what uneven mode weights cost the test log-likelihood when the
// modes are separated (NaN for other sets).
func weightKL(eng engine.Engine, data string) float64 {
	centres, _ := mixture(data)
	if centres == nil {
		return math.NaN()
	}
	const h, half = 0.005, 2.2
	var x []float64
	for u := -half; u <= half; u += h {
		for v := -half; v <= half; v += h {
			x = append(x, u, v)
		}
	}
	e := runAll(eng, x, 2)
	eMin := slices.Min(e)
	w := make([]float64, len(centres))
	total := 0.0
	for i, ei := range e {
		best, bd := 0, math.Inf(1)
		for k, c := range centres {
			if d := math.Hypot(x[2*i]-c[0], x[2*i+1]-c[1]); d < bd {
				best, bd = k, d
			}
		}
		p := math.Exp(-(ei - eMin))
		w[best] += p
		total += p
	}
	kl := 0.0
	u := 1 / float64(len(centres))
	for _, wk := range w {
		kl += u * math.Log(u/(wk/total))
	}
	return kl
}

// box is the data's range widened by k times the range on each side.
func box(x []float64, k float64) (lo, hi [2]float64) {
	lo, hi = [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for i, v := range x {
		lo[i%2], hi[i%2] = min(lo[i%2], v), max(hi[i%2], v)
	}
	for j := range 2 {
		w := hi[j] - lo[j]
		lo[j], hi[j] = lo[j]-k*w, hi[j]+k*w
	}
	return lo, hi
}

// runAll runs eng on rows of width values and returns its first output.
func runAll(eng engine.Engine, x []float64, width int) []float64 {
	var out []float64
	for i := 0; i < len(x); i += 4096 * width {
		j := min(len(x), i+4096*width)
		o, err := eng.Run(x[i:j], (j-i)/width)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, o[0]...)
	}
	return out
}

func meanEnergy(eng engine.Engine, x []float64) float64 {
	e := runAll(eng, x, 2)
	s := 0.0
	for _, v := range e {
		s += v
	}
	return s / float64(len(e))
}

// gridRange is the smallest and largest energy on a k×k grid over the box.
func gridRange(eng engine.Engine, lo, hi [2]float64, k int) (float64, float64) {
	x := make([]float64, 0, 2*k*k)
	for i := range k {
		for j := range k {
			x = append(x, lo[0]+(hi[0]-lo[0])*float64(i)/float64(k-1), lo[1]+(hi[1]-lo[1])*float64(j)/float64(k-1))
		}
	}
	e := runAll(eng, x, 2)
	return slices.Min(e), slices.Max(e)
}

// coverage returns the modes covered and the high-quality share of a
// Gaussian-mixture toy set's samples (−1 and NaN for other sets).
func coverage(data string, s []float64) (int, float64) {
	centres, sigma := mixture(data)
	if centres == nil {
		return -1, math.NaN()
	}
	n := len(s) / 2
	counts := make([]int, len(centres))
	near := 0
	for i := range n {
		for k, c := range centres {
			if math.Hypot(s[2*i]-c[0], s[2*i+1]-c[1]) <= 3*sigma {
				counts[k]++
				near++
				break
			}
		}
	}
	modes := 0
	for _, c := range counts {
		if float64(c) >= 0.01*float64(n) {
			modes++
		}
	}
	return modes, float64(near) / float64(n)
}

// mixture returns the centres and the standard deviation of the modes of
// a Gaussian-mixture toy set (as train's toy.go draws them), or nil.
func mixture(data string) (centres [][2]float64, sigma float64) {
	switch data {
	case "toy:25gaussians":
		for c := range 25 {
			centres = append(centres, [2]float64{float64(2*(c/5-2)) / 2.828, float64(2*(c%5-2)) / 2.828})
		}
		sigma = 0.05 / 2.828
	case "toy:8gaussians":
		for k := range 8 {
			a := float64(k) * math.Pi / 4
			centres = append(centres, [2]float64{2 * math.Cos(a) / 1.414, 2 * math.Sin(a) / 1.414})
		}
		sigma = 0.02 / 1.414
	}
	return centres, sigma
}

// readMetrics reads the step and gp columns of metrics.csv (gp NaN when
// the run has none).
func readMetrics(path string) ([][2]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	col := slices.Index(recs[0], "gp")
	var out [][2]float64
	for _, r := range recs[1:] {
		step, _ := strconv.ParseFloat(r[0], 64)
		gp := math.NaN()
		if col >= 0 {
			gp, _ = strconv.ParseFloat(r[col], 64)
		}
		out = append(out, [2]float64{step, gp})
	}
	return out, nil
}

// hinge returns the mean GP of the log rows in (from, to] and the share of
// them with λ·GP > τ.
func hinge(m [][2]float64, from, to int, lambda, tau float64) (float64, float64) {
	s, active, n := 0.0, 0, 0
	for _, r := range m {
		if r[0] > float64(from) && r[0] <= float64(to) && !math.IsNaN(r[1]) {
			s += r[1]
			n++
			if lambda*r[1] > tau {
				active++
			}
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	return s / float64(n), float64(active) / float64(n)
}
