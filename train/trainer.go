package train

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train/data"
	"github.com/ebmpipe/ebmpipe/train/metrics"
)

// Files a run writes into Options.Out.
const (
	MetricsFile   = "metrics.csv"
	CheckpointDir = "checkpoint"
	EnergyFile    = "energy.onnx"
	GeneratorFile = "generator.onnx"
)

// Hooks customise a run beyond Options.
type Hooks struct {
	// Lower and Upper, when set, replace the bounds Options.Lower and
	// Options.Upper name (for bounds defined outside package bounds).
	Lower bounds.Lower
	Upper bounds.Upper
	// Progress, when set, is called after every iteration.
	Progress func(Progress)
	// Validate, when set, scores the models for Options.Select best
	// (default: minus the certified bracket's iw lower bound on the NLL).
	Validate Validator
	// Notice, when set, is told of choices made on the user's behalf,
	// such as running a model of fixed batch in chunks of it.
	Notice func(msg string)
}

// Progress reports how far a run is.
type Progress struct {
	Step, Steps int
	// Metrics is the latest row of metrics.csv, nil before the first.
	Metrics *metrics.Row
}

// Result sums up a finished run.
type Result struct {
	Steps          int          // iterations done in total
	Trained        int          // iterations done by this Run (0 when resuming a finished run)
	Metrics        *metrics.Row // the last row of metrics.csv
	StepsPerSecond float64      // iterations per second of this session
	Energy         string       // path of the exported energy model
	Generator      string       // path of the exported generator
}

// A Trainer runs the minimax training of an energy and a generator: every
// iteration takes Options.EnergySteps Adam steps of the energy on
//
//	L_E = mean E(data) − mean E(G(z)) + upper.Loss
//
// then Options.GeneratorSteps steps of the generator (and of the encoder,
// when the lower bound trains one) on
//
//	L_G = mean E(G(z)) + lower.Loss,
//
// each on a fresh batch of data rows and standard normal latent draws. The
// generator runs with batch statistics in its BatchNormalization layers,
// except in the bounds, which see it in inference mode with running
// statistics tracked during training (inferenceNets); the exported
// generator's running statistics are estimated afresh at export.
//
// Every random draw comes from streams seeded with Options.Seed, and a
// checkpoint holds all of their states, so that a run resumed from a
// checkpoint continues exactly as the uninterrupted run would have.
type Trainer struct {
	o       Options
	hooks   Hooks
	data    *data.Dataset
	sampler *data.Sampler
	zRNG    *data.RNG
	noise   *data.RNG
	coop    *refiner // the cooperative negatives, nil without (langevin.go)
	nets    []*network
	energy  *network
	gen     *network
	encoder *network
	lower   bounds.Lower
	upper   bounds.Upper
	// lateUpper is the upper bound of the late stage (Options.LateSigmas),
	// nil without one.
	lateUpper bounds.Upper
	eStages   []stage         // the energy step's stages (stages.go)
	gStages   []stage         // the generator step's
	bracket   *bracketMonitor // nil without Options.BracketEvery
	bnTrack   *bnProbe        // the generator's running statistics; nil without BatchNorm
	sel       *selector       // nil without Options.Select best

	exportExtra map[string]string // metadata Export adds to both models
	ema         *ema              // the parameters' moving average, nil without Options.EMA

	step     int
	acc      *metrics.Accum
	wall     float64 // seconds of training before this session
	columns  []string
	last     *metrics.Row
	ckptStep int // step of the last checkpoint written or loaded, −1 if none
}

// NewTrainer loads the data and networks and builds the update graphs. With
// Options.Resume it restores the latest checkpoint in Out/checkpoint;
// without, it refuses a directory that already holds one. Reading a large
// data file or importing large networks takes a while: when ctx is
// cancelled, NewTrainer stops between its stages (and between chunks of a
// data file) with an error wrapping ctx.Err(), having written nothing.
func NewTrainer(ctx context.Context, o Options, h Hooks) (*Trainer, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("preparing the run: %w", err)
		}
		return nil
	}
	tr := &Trainer{o: o, hooks: h, acc: metrics.NewAccum(), ckptStep: -1}
	var err error
	if tr.data, err = data.LoadDataContext(ctx, o.Data, o.DataRows, o.Seed); err != nil {
		if ctx.Err() != nil {
			return nil, stopped()
		}
		return nil, fielderr.Errorf("{Data}: %w", err)
	}
	if tr.sel, tr.data, err = newSelector(o.Selection, tr.data, o.Seed, h.Validate); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(o.Data, "toy:") {
		if err := tr.data.Standardize(); err != nil {
			return nil, fielderr.Errorf("{Data}: %w", err)
		}
	}
	if tr.sampler, err = data.NewSampler(tr.data, o.Seed); err != nil {
		return nil, fielderr.Errorf("{Data}: %w", err)
	}
	tr.zRNG = data.NewRNG(o.Seed, "z")
	tr.noise = data.NewRNG(o.Seed, "noise")
	if err := stopped(); err != nil {
		return nil, err
	}
	if err := tr.loadNetworks(); err != nil {
		return nil, err
	}
	if err := tr.checkExport(); err != nil {
		return nil, err
	}
	noteFixedBatch(tr.nets, h.Notice)
	tr.dropInapplicable(h.Notice)
	tr.noteWindow(h.Notice)
	if err := tr.loadBounds(); err != nil {
		return nil, err
	}
	if tr.bnTrack, err = newBNProbe(tr.gen, o.BatchSize); err != nil {
		return nil, fielderr.Errorf("{Generator}: %w", err)
	}
	if err := tr.checkSelection(); err != nil {
		return nil, err
	}
	if err := stopped(); err != nil {
		return nil, err
	}
	D, d := tr.data.Width, tr.gen.inWidth
	dt, _ := o.dtype() // checked
	if err := tr.buildEnergyStages(dt, D, d); err != nil {
		return nil, err
	}
	if err := tr.buildGeneratorStages(dt, D, d); err != nil {
		return nil, err
	}
	if tr.coop, err = newRefiner(o, tr.energy, tr.gen, dt, o.BatchSize, D, d); err != nil {
		return nil, err
	}
	for _, p := range tr.programs() {
		p.clip = o.ClipGradNorm
	}
	if tr.coop != nil {
		for _, s := range tr.eStages {
			s.p.refine = tr.coop.refine
		}
	}
	if o.BracketEvery > 0 {
		if tr.bracket, err = newBracketMonitor(tr.nets[:2], tr.data, o); err != nil {
			return nil, err
		}
	}
	tr.ema = newEMA(o.EMA, tr.nets)
	tr.columns = tr.metricColumns()
	if err := stopped(); err != nil {
		return nil, err
	}
	if err := tr.checkOut(); err != nil {
		return nil, err
	}
	return tr, nil
}

// checkOut checks the Out folder: not one in use by another run, and with
// Options.Resume a checkpoint there, which it restores, or without, none.
func (tr *Trainer) checkOut() error {
	o := tr.o
	if fi, err := os.Stat(o.Out); err == nil && !fi.IsDir() {
		return fielderr.Errorf("{Out} %s: not a directory", o.Out)
	}
	if pid := atomicfile.Holder(filepath.Join(o.Out, LockFile)); pid != 0 && pid != os.Getpid() {
		return outInUse(o.Out, pid)
	}
	dir := filepath.Join(o.Out, CheckpointDir)
	if !o.Resume {
		return checkFreshOut(o.Out)
	}
	c, err := LoadCheckpoint(dir)
	if err != nil {
		return fielderr.Errorf("{Resume}: %w", err)
	}
	if err := tr.restore(c); err != nil {
		return fielderr.Errorf("{Resume}: %s: %w", dir, err)
	}
	return nil
}

// LockFile is the lock file a training run keeps in its Out folder while
// it runs, holding its process id: a second run on the folder fails at
// once instead of mixing its files with the first's. A lock left by a
// killed run names a dead process and is taken over.
const LockFile = ".ebmpipe-train.lock"

// lockOut takes the lock of the folder out.
func lockOut(out string) (*atomicfile.Lock, error) {
	l, err := atomicfile.TryLock(filepath.Join(out, LockFile))
	var held *atomicfile.HeldError
	switch {
	case errors.As(err, &held):
		return nil, outInUse(out, held.PID)
	case err != nil:
		return nil, fielderr.Errorf("{Out}: %w", err)
	}
	return l, nil
}

func outInUse(out string, pid int) error {
	return fielderr.Errorf("{Out} %s is in use by another training run (process %d, lock file %s); wait for it to end or choose another {Out}",
		out, pid, filepath.Join(out, LockFile))
}

// checkFreshOut returns an error if the folder out holds a run: a
// checkpoint, or the models or metrics of a run without one, which a new
// run would overwrite.
func checkFreshOut(out string) error {
	dir := filepath.Join(out, CheckpointDir)
	if _, err := os.Stat(filepath.Join(dir, latestName)); err == nil {
		return fielderr.Errorf("{Out} %s already holds a run (%s); use {Resume} to continue it or choose another {Out}", out, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fielderr.Errorf("{Out}: %w", err)
	}
	var found []string
	for _, f := range []string{EnergyFile, GeneratorFile, MetricsFile} {
		if _, err := os.Lstat(filepath.Join(out, f)); err == nil {
			found = append(found, f)
		}
	}
	if len(found) > 0 {
		return fielderr.Errorf("{Out} %s holds %s of another run but no checkpoint to resume; choose another {Out}, or move them away first",
			out, strings.Join(found, ", "))
	}
	return nil
}

func (tr *Trainer) loadNetworks() error {
	o := tr.o
	var err error
	if tr.energy, err = loadNetwork(bounds.Energy, "energy", "Energy", o.Energy, o.Seed, false); err != nil {
		return err
	}
	if o.SpectralNorm {
		tr.energy.sn = snIndices(tr.energy)
	}
	if tr.gen, err = loadNetwork(bounds.Generator, "generator", "Generator", o.Generator, o.Seed, o.GeneratorBatchNorm); err != nil {
		return err
	}
	tr.nets = []*network{tr.energy, tr.gen}
	D, d := tr.data.Width, tr.gen.inWidth
	switch {
	case tr.energy.inWidth != D:
		return fielderr.Errorf("{Energy} %s takes rows of %d values (%v), the data %s has %d", o.Energy, tr.energy.inWidth, tr.energy.inRow, o.Data, D)
	case tr.energy.outWid != 1:
		return fielderr.Errorf("{Energy} %s gives %d values per row (%v); an energy gives one", o.Energy, tr.energy.outWid, tr.energy.outRow)
	case tr.gen.outWid != D:
		return fielderr.Errorf("{Generator} %s makes rows of %d values (%v), the data %s has %d", o.Generator, tr.gen.outWid, tr.gen.outRow, o.Data, D)
	}
	if o.Encoder != "" {
		if tr.encoder, err = loadNetwork(bounds.Encoder, "encoder", "Encoder", o.Encoder, o.Seed, false); err != nil {
			return err
		}
		if tr.encoder.inWidth != D || tr.encoder.outWid != 2*d {
			return fielderr.Errorf("{Encoder} %s maps %d values to %d; want the data width %d to twice the latent width, %d",
				o.Encoder, tr.encoder.inWidth, tr.encoder.outWid, D, 2*d)
		}
		tr.nets = append(tr.nets, tr.encoder)
	}
	lrs := map[*network]float64{tr.energy: o.LREnergy, tr.gen: o.LRGenerator, tr.encoder: o.LRGenerator}
	for _, n := range tr.nets {
		n.opt = NewAdam(lrs[n])
		n.opt.Beta2 = o.Beta2
	}
	return nil
}

func (tr *Trainer) loadBounds() error {
	o := tr.o
	tr.lower, tr.upper = tr.hooks.Lower, tr.hooks.Upper
	var err error
	if tr.lower == nil {
		if tr.lower, err = bounds.LowerByName(o.Lower); err != nil {
			return fielderr.Errorf("{Lower}: %w", err)
		}
	}
	if tr.upper == nil && o.Upper != "none" {
		if tr.upper, err = bounds.UpperByName(o.Upper); err != nil {
			return fielderr.Errorf("{Upper}: %w", err)
		}
	}
	if err := setWeights(tr.lower, tr.upper, o); err != nil {
		return err
	}
	tr.lower = withAnneal(tr.lower, o.AnnealFrom, o.AnnealSteps)
	if tr.upper, err = finishUpper(tr.upper, o, o.DiffusionSigmas); err != nil {
		return err
	}
	if err := tr.loadLateUpper(); err != nil {
		return err
	}
	if tr.encoder == nil && o.Lower == "mi" && tr.hooks.Lower == nil {
		return fielderr.Errorf("{Lower} mi needs {Encoder}")
	}
	return nil
}

// metricColumns lists the columns of metrics.csv between step and
// wall_seconds.
func (tr *Trainer) metricColumns() []string {
	cols := []string{metrics.ColLossEnergy, metrics.ColLossGenerator, metrics.ColLower, metrics.ColUpper, metrics.ColEntropy, metrics.ColKL, metrics.ColSMin, metrics.ColEnergyData, metrics.ColEnergySamples}
	var extra []string
	for _, p := range tr.programs() {
		for k := range p.scalars {
			if !slices.Contains(cols, k) && !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	slices.Sort(extra)
	if tr.bracket != nil {
		cols = append(cols, metrics.ColBracketLower, metrics.ColBracketUpper)
	}
	return append(cols, extra...)
}

// Step returns the number of iterations done.
func (tr *Trainer) Step() int { return tr.step }

// Data returns the training data, standardised as the networks see it.
func (tr *Trainer) Data() *data.Dataset { return tr.data }

// Params returns a copy of the current parameters, named "energy/NAME",
// "generator/NAME" and "encoder/NAME".
func (tr *Trainer) Params() map[string]Tensor {
	out := map[string]Tensor{}
	for _, n := range tr.nets {
		for i, p := range n.params {
			out[n.name+"/"+p.Name] = Tensor{Shape: slices.Clone(p.Shape), Data: slices.Clone(n.values[i])}
		}
	}
	return out
}

// Run trains with o and h: NewTrainer, Trainer.Run.
func Run(ctx context.Context, o Options, h Hooks) (*Result, error) {
	tr, err := NewTrainer(ctx, o, h)
	if err != nil {
		return nil, err
	}
	return tr.Run(ctx)
}

// Run trains until Options.Steps iterations are done, writing
// Out/metrics.csv every Options.LogEvery iterations and a checkpoint every
// Options.CheckpointEvery and at the end, and then exports
// Out/energy.onnx and Out/generator.onnx. When ctx is cancelled it writes
// a checkpoint of the iterations done and returns ctx.Err(). A step with a
// non-finite loss or gradient stops the run with a *NonFiniteError; the
// checkpoints written before are kept.
func (tr *Trainer) Run(ctx context.Context) (res *Result, err error) {
	o := tr.o
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fielderr.Errorf("{Out}: %w", err)
	}
	lock, err := lockOut(o.Out)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if !o.Resume && tr.step == 0 {
		// Another run may have written here since NewTrainer looked.
		if err := checkFreshOut(o.Out); err != nil {
			return nil, err
		}
	}
	mf, err := metrics.Open(filepath.Join(o.Out, MetricsFile), tr.columns, o.Resume, tr.step)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := mf.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if tr.last == nil {
		tr.last = mf.Last() // a resumed run's last logged row
	}
	start := time.Now()
	first := tr.step
	for tr.step < o.Steps {
		if err := ctx.Err(); err != nil {
			if tr.step > tr.ckptStep {
				if cerr := tr.checkpoint(tr.wall + time.Since(start).Seconds()); cerr != nil {
					return nil, errors.Join(err, cerr)
				}
			}
			return nil, err
		}
		if err := tr.iterate(); err != nil {
			var nf *NonFiniteError
			if errors.As(err, &nf) {
				nf.Step = tr.step + 1
				if tr.ckptStep >= 0 {
					nf.Checkpoint = filepath.Join(o.Out, CheckpointDir)
					nf.CheckpointStep = tr.ckptStep
				}
			}
			return nil, err
		}
		tr.step++
		if tr.bracket != nil && tr.step%o.BracketEvery == 0 {
			if err := tr.bracket.log(tr.acc, tr.step); err != nil {
				return nil, err
			}
		}
		if err := tr.selectStep(ctx); err != nil {
			return nil, err
		}
		wall := tr.wall + time.Since(start).Seconds()
		if tr.step%o.LogEvery == 0 || tr.step == o.Steps {
			tr.last = tr.row()
			tr.acc = metrics.NewAccum()
			if err := mf.Write(tr.last, wall); err != nil {
				return nil, err
			}
		}
		if (o.CheckpointEvery > 0 && tr.step%o.CheckpointEvery == 0) || tr.step == o.Steps {
			if err := tr.checkpoint(wall); err != nil {
				return nil, err
			}
		}
		if tr.hooks.Progress != nil {
			tr.hooks.Progress(Progress{Step: tr.step, Steps: o.Steps, Metrics: tr.last})
		}
	}
	res = &Result{Steps: tr.step, Trained: tr.step - first, Metrics: tr.last}
	if secs := time.Since(start).Seconds(); secs > 0 {
		res.StepsPerSecond = float64(tr.step-first) / secs
	}
	if res.Energy, res.Generator, err = tr.exportSelected(o.Out); err != nil {
		return nil, err
	}
	return res, nil
}

// iterate runs one iteration: the energy's updates, then the generator's.
func (tr *Trainer) iterate() error {
	tr.scheduleLR(tr.step)
	for range tr.o.EnergySteps {
		p := tr.energyProgram(tr.step)
		if err := p.run(tr.step, tr.sampler, tr.zRNG, tr.noise); err != nil {
			return err
		}
		if err := tr.trackBatchNorm(p.zBuf); err != nil {
			return err
		}
		p.update()
		tr.acc.Add(metrics.ColLossEnergy, p.lossVal)
		if v, ok := p.values["kl_bound"]; ok {
			tr.acc.Add(metrics.ColKL, v)
		}
		tr.addExtras(p)
	}
	for range tr.o.GeneratorSteps {
		p := tr.generatorProgram(tr.step)
		if err := p.run(tr.step, tr.sampler, tr.zRNG, tr.noise); err != nil {
			return err
		}
		if err := tr.trackBatchNorm(p.zBuf); err != nil {
			return err
		}
		p.update()
		tr.acc.Add(metrics.ColLossGenerator, p.lossVal)
		ed, es, h := p.values["energy_data"], p.values["energy_samples"], p.values["entropy"]
		tr.acc.Add(metrics.ColEnergyData, ed)
		tr.acc.Add(metrics.ColEnergySamples, es)
		tr.acc.Add(metrics.ColEntropy, h)
		tr.acc.Add(metrics.ColLower, ed-es+h)
		tr.addExtras(p)
	}
	tr.ema.update()
	return nil
}

func (tr *Trainer) addExtras(p *program) {
	for k, v := range p.values {
		switch k {
		case "energy_data", "energy_samples", "entropy", "kl_bound":
			continue
		}
		tr.acc.Add(k, v)
	}
}

// row makes the metrics row of the interval just ended.
func (tr *Trainer) row() *metrics.Row {
	m := &metrics.Row{Step: tr.step, Names: tr.columns}
	for _, c := range tr.columns {
		var v float64
		if c == metrics.ColUpper {
			v = math.NaN()
			if tr.upper != nil {
				v = tr.acc.Mean(metrics.ColLower) + tr.acc.Mean(metrics.ColKL)
			}
		} else {
			v = tr.acc.Mean(c)
		}
		m.Values = append(m.Values, v)
	}
	return m
}

// identity is the JSON of the options a resumed run must share with the
// run it continues.
func (o Options) identity() string {
	o.Steps, o.Out, o.Resume, o.LogEvery, o.CheckpointEvery, o.KeepCheckpoints = 0, "", false, 0, 0, 0
	o.Selection = o.Selection.normal()
	o.Opset = 0 // a resumed run may export another opset
	o.clearUnusedTools()
	b, _ := json.Marshal(o) // no NaN: the optional weights are checked finite
	return string(b)
}

// checkpoint saves the state of the run after tr.step iterations.
func (tr *Trainer) checkpoint(wall float64) error {
	c := &Checkpoint{
		Step:       tr.step,
		Params:     tr.Params(),
		Optimizers: map[string]AdamState{},
		RNG:        map[string][]byte{},
		Meta: map[string]string{
			"options":      tr.o.identity(),
			"metrics":      tr.acc.Marshal(),
			"wall_seconds": strconv.FormatFloat(wall, 'g', -1, 64),
		},
	}
	for _, n := range tr.nets {
		c.Optimizers[n.name] = n.opt.State()
	}
	if tr.Selected() != nil {
		maps.Copy(c.Meta, tr.selectMeta())
	}
	tr.ema.save(c)
	for name, m := range tr.randomStates() {
		b, err := m.MarshalBinary()
		if err != nil {
			return fmt.Errorf("checkpoint: %s: %w", name, err)
		}
		c.RNG[name] = b
	}
	dir := filepath.Join(tr.o.Out, CheckpointDir)
	if err := SaveCheckpoint(dir, c); err != nil {
		return err
	}
	tr.ckptStep = tr.step
	if tr.o.KeepCheckpoints > 0 {
		return PruneCheckpoints(dir, tr.o.KeepCheckpoints)
	}
	return nil
}

// restore sets the state of the run from c.
func (tr *Trainer) restore(c *Checkpoint) error {
	if got, want := c.Meta["options"], tr.o.identity(); got != want {
		return fielderr.Errorf("the checkpoint was made with other options: " + optionsDiff(got, want) + tr.o.recipeHint(got))
	}
	if c.Step > tr.o.Steps {
		return fielderr.Errorf("the checkpoint is of iteration %d, beyond {Steps} %d", c.Step, tr.o.Steps)
	}
	for _, n := range tr.nets {
		for i, p := range n.params {
			key := n.name + "/" + p.Name
			t, ok := c.Params[key]
			if !ok {
				return fmt.Errorf("parameter %s is missing", key)
			}
			if !slices.Equal(t.Shape, p.Shape) || len(t.Data) != len(n.values[i]) {
				return fmt.Errorf("parameter %s has shape %v, the network %v", key, t.Shape, p.Shape)
			}
			copy(n.values[i], t.Data)
		}
		s, ok := c.Optimizers[n.name]
		if !ok {
			return fmt.Errorf("optimizer state of the %s is missing", n.name)
		}
		if err := n.opt.SetState(s, n.trainValues()); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	for name, u := range tr.randomStates() {
		b, ok := c.RNG[name]
		if !ok {
			return fmt.Errorf("random state %q is missing", name)
		}
		if err := u.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("random state %q: %w", name, err)
		}
	}
	if err := tr.ema.load(c); err != nil {
		return err
	}
	acc, err := metrics.UnmarshalAccum(c.Meta["metrics"])
	if err != nil {
		return fmt.Errorf("metrics state: %w", err)
	}
	tr.acc = acc
	if err := tr.restoreSelection(c.Meta); err != nil {
		return err
	}
	if w, err := strconv.ParseFloat(c.Meta["wall_seconds"], 64); err == nil {
		tr.wall = w
	}
	tr.step, tr.ckptStep = c.Step, c.Step
	return nil
}

// optionsDiff names the options whose values differ between two identity
// JSON objects, as a fielderr.Errorf format naming their fields.
func optionsDiff(got, want string) string {
	var g, w map[string]any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return "unreadable options in the checkpoint"
	}
	fields := map[string]string{} // JSON name → field
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Options]()) {
		fields[strings.Split(f.Tag.Get("json"), ",")[0]] = f.Name
	}
	escape := strings.NewReplacer("%", "%%").Replace
	keys := slices.Sorted(maps.Keys(g))
	for k := range w {
		if _, ok := g[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diffs []string
	for _, k := range keys {
		if !reflect.DeepEqual(g[k], w[k]) {
			diffs = append(diffs, fmt.Sprintf("{%s} %s (checkpoint %s)", cmp.Or(fields[k], k), escape(show(w[k])), escape(show(g[k]))))
		}
	}
	return strings.Join(diffs, ", ")
}

func show(v any) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(v)
}

// Export writes the energy and the generator, with their current
// parameters and the data's standardisation, as ONNX models dir/energy.onnx
// and dir/generator.onnx of operator set Options.Opset, and returns their
// paths. The generator's BatchNormalization running statistics are first
// estimated from batches of its own activations. With Options.EMA, the
// models hold the averaged parameters.
func (tr *Trainer) Export(dir string) (energy, generator string, err error) {
	tr.ema.swap()
	defer tr.ema.swap()
	energy = filepath.Join(dir, EnergyFile)
	generator = filepath.Join(dir, GeneratorFile)
	opt := export.Options{Opset: tr.o.Opset}
	if err := export.SaveWith(energy, tr.energy.net.Model(), tr.energy.paramMap(), tr.exportMeta(export.KindEnergy), opt); err != nil {
		return "", "", fmt.Errorf("exporting the energy: %w", err)
	}
	params := tr.gen.paramMap()
	stats, err := batchNormStats(tr.gen, tr.o.BatchSize, 50, data.NewRNG(tr.o.Seed, "export/bn"))
	if err != nil {
		return "", "", fmt.Errorf("exporting the generator: %w", err)
	}
	maps.Copy(params, stats)
	if err := export.SaveWith(generator, tr.gen.net.Model(), params, tr.exportMeta(export.KindGenerator), opt); err != nil {
		return "", "", fmt.Errorf("exporting the generator: %w", err)
	}
	return energy, generator, nil
}

// checkExport builds, without writing them, the models Export would
// write with the current parameters, so that a run that cannot export
// fails before its first step rather than after its last.
func (tr *Trainer) checkExport() error {
	opt := export.Options{Opset: tr.o.Opset}
	for _, n := range []*network{tr.energy, tr.gen} {
		kind := export.KindEnergy
		if n == tr.gen {
			kind = export.KindGenerator
		}
		if _, err := export.ModelWith(n.net.Model(), n.paramMap(), tr.exportMeta(kind), opt); err != nil {
			return fielderr.Errorf("{"+n.field+"} %s cannot be exported at {Opset} %d, so the run would fail at its end: %w", n.spec, tr.o.Opset, err)
		}
	}
	return nil
}

// exportMeta returns the metadata of the exported model of kind.
func (tr *Trainer) exportMeta(kind string) export.Meta {
	meta := export.Meta{Kind: kind, Shift: tr.data.Shift, Scale: tr.data.Scale,
		Data: tr.o.Data, DataRows: tr.o.DataRows, Seed: tr.o.Seed, Extra: tr.exportExtra}
	if kind == export.KindEnergy {
		meta.Features = tr.data.Columns
	}
	return meta
}
