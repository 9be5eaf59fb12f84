package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// smoothTrain trains a tiny pair whose bounds all apply: a softplus
// energy (twice differentiable) and a linear generator (a smooth
// bijection of the plane, det J constant: no fold, no kink).
func smoothTrain(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runCLI("train", "--data", "toy:25gaussians", "--data-rows", "1000",
		"--energy", "mlp:2-16-16-1:softplus", "--generator", "mlp:2-2", "--lower", "jacobian-exact",
		"--batch-size", "32", "--steps", "20", "--log-every", "5", "--lr-energy", "1e-3", "--out", dir)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	return dir
}

// boundsJSON runs `ebmpipe bounds --json` on the pair in dir (energy
// model energy if not empty) and returns its output.
func boundsJSON(t *testing.T, dir, energy string) string {
	t.Helper()
	if energy == "" {
		energy = filepath.Join(dir, "energy.onnx")
	}
	code, stdout, stderr := runCLI("bounds", "--energy", energy, "--generator", filepath.Join(dir, "generator.onnx"),
		"--data", "toy:25gaussians", "--samples", "400", "--bracket-samples", "20000", "--batch-size", "200", "--json")
	if code != 0 {
		t.Fatalf("bounds: exit %d: %s", code, stderr)
	}
	return stdout
}

// jsonShape describes the structure of a decoded JSON value: one line a
// leaf, its path and type.
func jsonShape(v any, path string, out *strings.Builder) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			jsonShape(v[k], path+"."+k, out)
		}
	case []any:
		fmt.Fprintf(out, "%s: array\n", path)
		if len(v) > 0 {
			jsonShape(v[0], path+"[]", out)
		}
	case float64:
		fmt.Fprintf(out, "%s: number\n", path)
	case string:
		fmt.Fprintf(out, "%s: string\n", path)
	case bool:
		fmt.Fprintf(out, "%s: bool\n", path)
	case nil:
		fmt.Fprintf(out, "%s: null\n", path)
	}
}

// boundsReport is the part of `ebmpipe bounds --json` the tests read.
type boundsReport struct {
	Lower, Upper map[string]struct {
		Value, StdErr float64
		Certified     bool
		Condition     string
	}
	EnergyData float64           `json:"energy_data_mean"`
	NotBounds  map[string]string `json:"not_bounds"`
	Certified  struct {
		Lower, Upper struct {
			Available, Certified bool
			Value, StdErr        float64
			Condition            string
		}
	} `json:"certified_bracket"`
	NLL      *struct{ Value, StdErr float64 }
	Warnings []string
}

// TestBoundsSmoothPair checks `ebmpipe bounds --json` on a pair where
// every bound applies: its shape (golden), a value, standard error,
// certified flag and condition for each bound, and the NLL warnings on
// both sides of the bracket.
func TestBoundsSmoothPair(t *testing.T) {
	dir := smoothTrain(t)
	out := boundsJSON(t, dir, "")
	var tree any
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var shape strings.Builder
	jsonShape(tree, "", &shape)
	checkGolden(t, "testdata/bounds_json.golden", shape.String())

	var rep boundsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		name  string
		names []string
		m     map[string]struct {
			Value, StdErr float64
			Certified     bool
			Condition     string
		}
	}{{"lower", []string{"jacobian", "jacobian-exact"}, rep.Lower}, {"upper", []string{"diffusion", "gp", "latent"}, rep.Upper}} {
		for _, k := range side.names {
			v, ok := side.m[k]
			if !ok || math.IsNaN(v.Value) || !(v.StdErr > 0) || v.Condition == "" {
				t.Errorf("%s %s = %+v (present %v): want a value, a standard error and a condition", side.name, k, v, ok)
			}
			constant := "log-Sobolev constant C = 1"
			if k == "latent" {
				constant = "log-Sobolev constant C_π = 1"
			}
			if side.name == "upper" && (v.Certified || !strings.Contains(v.Condition, constant)) {
				t.Errorf("upper %s: certified %v, condition %q: want a bound conditional on C", k, v.Certified, v.Condition)
			}
		}
	}
	if len(rep.NotBounds) > 0 {
		t.Errorf("smooth pair: not bounds %q", rep.NotBounds)
	}
	c := rep.Certified
	if !c.Lower.Available || !c.Lower.Certified || c.Lower.Condition == "" {
		t.Errorf("certified lower end %+v: want certified with its condition", c.Lower)
	}

	// The warnings about the NLL of the energy's log Z, on either side:
	// none between every lower and every upper value of the paper's
	// bounds (a warning needs three standard errors on the wrong side).
	// This energy, trained 20 steps, is not normalisable (a grid's log Z
	// grows with its box), so the certified lower end grows with its
	// draws and lies above the upper values conditional on C: it must
	// then be warned about.
	low, up := math.Inf(-1), math.Inf(1)
	for _, v := range rep.Lower {
		low = max(low, v.Value)
	}
	for _, v := range rep.Upper {
		up = min(up, v.Value)
	}
	highest := math.Inf(-1)
	for _, v := range rep.Upper {
		highest = max(highest, v.Value+10*v.StdErr)
	}
	var above []string
	if c.Upper.Certified {
		above, highest = append(above, "upper bound certified chi2"), max(highest, c.Upper.Value+10*c.Upper.StdErr)
		up = min(up, c.Upper.Value)
	}
	if !(low < up) {
		t.Fatalf("no room inside the bracket: lower ends up to %v, upper ends from %v", low, up)
	}
	above = append(above, "upper bound diffusion", "upper bound gp ", "upper bound latent")
	for _, tc := range []struct {
		name  string
		nll   float64
		warns []string
	}{
		{"inside", (low + up) / 2, nil},
		{"above-upper", highest + 1, above},
	} {
		m, err := onnx.Load(filepath.Join(dir, "energy.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		export.SetLogZ(m, export.LogZ{Value: tc.nll - rep.EnergyData, StdErr: 0.01, Method: "test"})
		energy := filepath.Join(t.TempDir(), "energy.onnx")
		if err := onnx.Save(energy, m); err != nil {
			t.Fatal(err)
		}
		var got boundsReport
		if err := json.Unmarshal([]byte(boundsJSON(t, dir, energy)), &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.NLL == nil || math.Abs(got.NLL.Value-tc.nll) > 1e-9 {
			t.Errorf("%s: nll = %+v, want %v", tc.name, got.NLL, tc.nll)
		}
		if got.NLL != nil && c.Lower.Value-tc.nll > 3*math.Hypot(c.Lower.StdErr, got.NLL.StdErr) {
			tc.warns = append([]string{"lower bound certified iw"}, tc.warns...)
		}
		if len(got.Warnings) != len(tc.warns) {
			t.Errorf("%s: warnings %q, want %d naming %q", tc.name, got.Warnings, len(tc.warns), tc.warns)
			continue
		}
		for i, w := range tc.warns {
			where := "below NLL"
			if strings.HasPrefix(w, "lower") {
				where = "above NLL"
			}
			if !strings.Contains(got.Warnings[i], w) || !strings.Contains(got.Warnings[i], where) {
				t.Errorf("%s: warning %d = %q, want it to name %q %s", tc.name, i, got.Warnings[i], w, where)
			}
		}
	}
}
