package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/quality"
)

// tinyTrain is a short `ebmpipe train` command line into dir.
func tinyTrain(dir string, extra ...string) []string {
	return append([]string{"train", "--data", "toy:25gaussians", "--data-rows", "1000",
		"--energy", "mlp:2-16-16-1", "--generator", "mlp:2-16-16-2", "--lower", "jacobian-exact",
		"--batch-size", "32", "--steps", "20", "--log-every", "5", "--checkpoint-every", "10",
		"--lr-energy", "1e-3", "--out", dir}, extra...)
}

// TestTrainAndBounds trains a tiny pair, checks the files the run writes,
// resumes it for more iterations, and evaluates its bounds.
func TestTrainAndBounds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(tinyTrain(dir)...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "trained 20 iterations") || strings.Contains(stderr, "\r") {
		t.Errorf("stderr (not a terminal: no progress bar) = %q", stderr)
	}
	for _, f := range []string{"metrics.csv", "energy.onnx", "generator.onnx", "checkpoint/latest", "checkpoint/step-000020.ckpt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stdout, filepath.Join(dir, "energy.onnx")) {
		t.Errorf("stdout %q does not name the energy model", stdout)
	}
	m, err := onnx.Load(filepath.Join(dir, "energy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if meta, err := export.ReadMeta(m); err != nil || meta.Kind != export.KindEnergy {
		t.Errorf("energy metadata %+v, %v", meta, err)
	}

	// A second run into the same directory needs --resume.
	if code, _, stderr := runCLI(tinyTrain(dir)...); code != 1 || !strings.Contains(stderr, "--resume") {
		t.Errorf("second run: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI(tinyTrain(dir, "--resume", "--steps", "30")...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(b), "\n") - 1; rows != 6 {
		t.Errorf("metrics.csv has %d rows after resuming to 30 iterations, want 6", rows)
	}
	// Resuming a finished run trains nothing and reports the last logged
	// bounds.
	code, _, stderr = runCLI(tinyTrain(dir, "--resume", "--steps", "30")...)
	if code != 0 || !strings.Contains(stderr, "nothing to train: the checkpoint is at iteration 30 of 30") || strings.Contains(stderr, "NaN") {
		t.Errorf("resuming a finished run: exit %d, %q", code, stderr)
	}
	if b2, err := os.ReadFile(filepath.Join(dir, "metrics.csv")); err != nil || string(b2) != string(b) {
		t.Errorf("resuming a finished run changed metrics.csv (%v)", err)
	}

	code, stdout, stderr = runCLI("bounds", "--energy", filepath.Join(dir, "energy.onnx"),
		"--generator", filepath.Join(dir, "generator.onnx"), "--data", "toy:25gaussians",
		"--samples", "400", "--batch-size", "200", "--json")
	if code != 0 {
		t.Fatalf("bounds: exit %d: %s", code, stderr)
	}
	var rep struct {
		Lower, Upper map[string]struct{ Value, StdErr float64 }
		EnergyData   *float64 `json:"energy_data_mean"`
		EnergyModel  *float64 `json:"energy_model_mean"`
		NLL          any      `json:"nll"`
		Warnings     []string
		NotBounds    map[string]string `json:"not_bounds"`
		Certified    *struct {
			Lower, Upper struct {
				Available, Certified bool
				Condition            string
			}
		} `json:"certified_bracket"`
		Quality *struct {
			Samples  int
			Coverage *struct{ Modes, Total int }
			Truth    *struct{ Value float64 }
			Distance struct {
				PValue float64 `json:"p_value"`
			} `json:"energy_distance"`
		} `json:"sample_quality"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("bounds --json: %v\n%s", err, stdout)
	}
	for _, k := range []string{"jacobian", "jacobian-exact"} {
		v, ok := rep.Lower[k]
		if !ok || !(v.StdErr > 0) {
			t.Errorf("lower %s = %+v (present %v)", k, v, ok)
		}
	}
	if _, ok := rep.Upper["gp0"]; ok {
		t.Error("bounds reports gp0, a penalty that bounds nothing")
	}
	if c := rep.Certified; c == nil || (!c.Lower.Certified && c.Lower.Condition == "") || (!c.Upper.Certified && c.Upper.Condition == "") {
		t.Errorf("bounds --json: certified bracket %+v, want each end certified or a reason", c)
	}
	// The tiny generator is a PReLU MLP: gp and diffusion are no bounds on
	// it (TestBoundsSmoothPair checks a pair where they are).
	for _, k := range []string{"gp", "diffusion"} {
		if v, ok := rep.Upper[k]; ok || !strings.Contains(rep.NotBounds[k], "not a bound") || !strings.Contains(rep.NotBounds[k], "PRelu") {
			t.Errorf("upper %s = %+v (present %v), reason %q: want no bound naming PRelu", k, v, ok, rep.NotBounds[k])
		}
	}
	if rep.EnergyData == nil || rep.EnergyModel == nil {
		t.Errorf("bounds --json lacks the mean energies: %s", stdout)
	}
	// The sample quality on toy data: coverage of the 25 modes, the true
	// law's log-likelihood of the data rows (that of 25 far-apart
	// Gaussians of std σ, −log(2πσ²) − 1 − log 25), a p-value.
	sigma := quality.Gaussians25().Sigma
	truth := -math.Log(2*math.Pi*sigma*sigma) - 1 - math.Log(25)
	if q := rep.Quality; q == nil || q.Coverage == nil || q.Coverage.Total != 25 || q.Truth == nil ||
		math.Abs(q.Truth.Value-truth) > 0.3 || !(q.Distance.PValue > 0 && q.Distance.PValue <= 1) {
		t.Errorf("bounds --json: sample quality %+v", q)
	}
	if rep.NLL != nil || len(rep.Warnings) > 0 {
		t.Errorf("bounds --json on a model without log Z: nll %v, warnings %q", rep.NLL, rep.Warnings)
	}

	// With a log Z in the energy's metadata, bounds reports the NLL and
	// warns about every bound on the wrong side of it (the upper side:
	// TestBoundsSmoothPair).
	exact := rep.Lower["jacobian-exact"].Value
	below := []string{"lower bound jacobian ", "lower bound jacobian-exact"}
	if rep.Certified.Lower.Certified { // also where G folds: on a latent ball
		below = append(below, "lower bound certified iw")
	}
	cases := []struct {
		name  string
		nll   float64
		warns []string
	}{
		{"inside", exact + 1, nil},
		{"below-lower", exact - 50, below},
	}
	for _, c := range cases {
		m, err := onnx.Load(filepath.Join(dir, "energy.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		export.SetLogZ(m, export.LogZ{Value: c.nll - *rep.EnergyData, StdErr: 0.01, Method: "test"})
		energy := filepath.Join(t.TempDir(), "energy.onnx")
		if err := onnx.Save(energy, m); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI("bounds", "--energy", energy, "--generator", filepath.Join(dir, "generator.onnx"),
			"--data", "toy:25gaussians", "--samples", "400", "--batch-size", "200", "--json")
		if code != 0 {
			t.Fatalf("%s: bounds: exit %d: %s", c.name, code, stderr)
		}
		var got struct {
			NLL      *struct{ Value, StdErr float64 }
			Warnings []string
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.NLL == nil || math.Abs(got.NLL.Value-c.nll) > 1e-9 || !(got.NLL.StdErr >= 0.01) {
			t.Errorf("%s: nll = %+v, want %v ± at least 0.01", c.name, got.NLL, c.nll)
		}
		if len(got.Warnings) != len(c.warns) {
			t.Errorf("%s: warnings %q, want %d", c.name, got.Warnings, len(c.warns))
			continue
		}
		for i, w := range c.warns {
			if !strings.Contains(got.Warnings[i], w) {
				t.Errorf("%s: warning %d = %q, want it to name %q", c.name, i, got.Warnings[i], w)
			}
		}
	}

	code, stdout, _ = runCLI("bounds", "--energy", filepath.Join(dir, "energy.onnx"),
		"--generator", filepath.Join(dir, "generator.onnx"), "--data", "toy:25gaussians", "--samples", "200", "--batch-size", "100")
	if code != 0 || !strings.Contains(stdout, "jacobian-exact") || !strings.Contains(stdout, "diffusion") ||
		!strings.Contains(stdout, "energy distance") || !strings.Contains(stdout, "mode coverage (25gaussians): ") {
		t.Errorf("bounds table: exit %d\n%s", code, stdout)
	}
}

func TestTrainUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--lower", "svd"}, 2, `--lower "svd"`},
		{[]string{"train", "--steps", "0"}, 2, "--steps 0"},
		{[]string{"train", "--lambda-h", "x"}, 2, `"x" is not a number`},
		{[]string{"train", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"train", "--energy", "mlp:3-4-1", "--out", "OUT"}, 1, "takes rows of 3 values"},
		{[]string{"bounds", "--data", "toy:moons"}, 2, "--energy is required"},
		{[]string{"bounds", "--energy", "no.onnx", "--generator", "no.onnx", "--data", "toy:moons"}, 1, "no.onnx"},
	}
	for _, c := range cases {
		args := c.args
		for i, a := range args {
			if a == "OUT" {
				args[i] = filepath.Join(t.TempDir(), "run")
			}
		}
		code, _, stderr := runCLI(args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", args, code, stderr, c.code, c.want)
		}
	}
}

// TestResumeRecipes checks that a run resumes whatever recipe it was
// started with: a run started with the recipe's flags given one by one
// (as before the recipe existed) resumes with the same flags or with
// none, a run made at the paper's settings is refused without
// --recipe paper, with a message naming it, and resumes with it, and a
// run of the previous default (1e-3) is refused without its rates.
func TestResumeRecipes(t *testing.T) {
	study := strings.Fields("--upper diffusion --ema 0.999 --lr-energy 3e-3 --lr-generator 3e-3 " +
		"--lr-schedule cosine --lr-final 0.05 --lr-decay-steps 20000 --lr-warmup 200")
	// The default recipe before its rates became 3e-3: no recipe names it,
	// so a resume needs its rates and warm-up again.
	previous := strings.Fields("--lr-energy 1e-3 --lr-generator 1e-3 --lr-warmup 500")
	args := func(dir string, steps int, extra ...string) []string {
		return append([]string{"train", "--data", "toy:25gaussians", "--data-rows", "200", "--energy", "mlp:2-8-1",
			"--generator", "mlp:2-8-2", "--batch-size", "16", "--steps", strconv.Itoa(steps), "--out", dir}, extra...)
	}
	cases := []struct {
		name          string
		start, resume []string
		want          string // in the refusal; "" if the resume runs
	}{
		{"explicit flags, same flags", study, study, ""},
		{"explicit flags, none", study, nil, ""},
		{"previous default, none", previous, nil, `--lr-energy 0.003 (checkpoint 0.001)`},
		{"previous default, its flags", previous, previous, ""},
		{"paper, none", []string{"--recipe", "paper"}, nil, `--upper diffusion (checkpoint gp)`},
		{"paper, none, hint", []string{"--recipe", "paper"}, nil, `the checkpoint's are those of recipe "paper"`},
		{"paper and a flag, the flag", []string{"--recipe", "paper", "--seed", "4"}, []string{"--seed", "4"}, `recipe "paper"`},
		{"paper, paper", []string{"--recipe", "paper"}, []string{"--recipe", "paper"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if code, _, stderr := runCLI(args(dir, 3, c.start...)...); code != 0 {
				t.Fatalf("start: exit %d: %s", code, stderr)
			}
			code, _, stderr := runCLI(args(dir, 5, append(c.resume, "--resume")...)...)
			switch {
			case c.want == "" && code != 0:
				t.Errorf("resume: exit %d: %s", code, stderr)
			case c.want != "" && (code == 0 || !strings.Contains(stderr, c.want)):
				t.Errorf("resume: exit %d, %q; want a refusal saying %q", code, stderr, c.want)
			}
		})
	}
}

// TestTrainSelectBest checks that `ebmpipe train --select best` scores
// checkpoints by held-out log-likelihood, as `ebmpipe run` does, also for
// a generator whose certified bracket is unavailable (PReLU), and
// records the choice in the exported models.
func TestTrainSelectBest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append(tinyTrain(dir, "--select", "best", "--select-every", "10"), "--generator", "mlp:2-16-16-2:prelu", "--lower", "jacobian")
	code, _, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "could not be scored") {
		t.Errorf("stderr %q: a checkpoint was not scored", stderr)
	}
	m, err := onnx.Load(filepath.Join(dir, "energy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := export.ReadMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	score, err := strconv.ParseFloat(meta.Extra["ebmpipe.selected_score"], 64)
	if meta.Extra["ebmpipe.selected_metric"] != "validation log-likelihood" || err != nil || !(score > -50 && score < 10) {
		t.Errorf("selection record %v: want a validation log-likelihood", meta.Extra)
	}
}
