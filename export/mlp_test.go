package export_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
)

// TestMLPImports builds every activation with and without batch
// normalisation and checks that the model validates, imports, has the
// expected parameters and runs forward.
func TestMLPImports(t *testing.T) {
	for _, act := range mlp.Activations {
		for _, bn := range []bool{false, true} {
			spec := "mlp:2-5-4-3:" + act
			m, err := mlp.New(spec, mlp.Options{Seed: 1, BatchNorm: bn})
			if err != nil {
				t.Fatalf("%s bn=%v: %v", spec, bn, err)
			}
			if err := onnx.Validate(m); err != nil {
				t.Fatalf("%s bn=%v: %v", spec, bn, err)
			}
			// A round trip through the wire format must keep the model.
			b, err := onnx.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = onnx.Decode(b); err != nil {
				t.Fatal(err)
			}
			net, err := importers.New(m)
			if err != nil {
				t.Fatalf("%s bn=%v: import: %v", spec, bn, err)
			}
			want := []string{"fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
			wantCount := 2*5 + 5 + 5*4 + 4 + 4*3 + 3
			if bn {
				want = append(want, "bn0.weight", "bn0.bias", "bn0.running_mean", "bn0.running_var",
					"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var")
				wantCount += 2*5 + 2*4
			}
			if act == "prelu" {
				want = append(want, "act0.slope", "act1.slope")
				wantCount += 2
			}
			var names []string
			for _, p := range net.Params() {
				names = append(names, p.Name)
				if trainable := !strings.Contains(p.Name, "running"); p.Trainable != trainable {
					t.Errorf("%s bn=%v: %s trainable %v", spec, bn, p.Name, p.Trainable)
				}
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("%s bn=%v: params %v, want %v", spec, bn, names, want)
			}
			if got := net.ParamCount(); got != wantCount {
				t.Errorf("%s bn=%v: %d parameters, want %d", spec, bn, got, wantCount)
			}
			ev, err := net.NewEvaluator(7)
			if err != nil {
				t.Fatalf("%s bn=%v: %v", spec, bn, err)
			}
			x := make([]float64, 14)
			for i := range x {
				x[i] = float64(i)/7 - 1
			}
			out, err := ev.Run(x, 7)
			if err != nil || len(out) != 1 || len(out[0]) != 21 {
				t.Fatalf("%s bn=%v: run: %v (%d outputs)", spec, bn, err, len(out))
			}
			for _, v := range out[0] {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s bn=%v: output %v", spec, bn, out[0])
				}
			}
		}
	}
}

// TestMLPForward checks a one-hidden-layer tanh MLP against the formula
// computed from its initializers.
func TestMLPForward(t *testing.T) {
	m, err := mlp.New("mlp:2-3-1:tanh", mlp.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	net, err := importers.New(m)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string][]float64{}
	for _, q := range net.Params() {
		p[q.Name] = q.Data
	}
	ev, err := net.NewEvaluator(2)
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.3, -1.2, 2, 0.5}
	out, err := ev.Run(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		want := p["fc1.bias"][0]
		for j := range 3 {
			h := p["fc0.bias"][j] + p["fc0.weight"][2*j]*x[2*i] + p["fc0.weight"][2*j+1]*x[2*i+1]
			want += p["fc1.weight"][j] * math.Tanh(h)
		}
		// The evaluator rounds a float32 model's inputs and outputs to float32.
		if math.Abs(out[0][i]-want) > 1e-6*math.Abs(want) {
			t.Errorf("row %d: %v, want %v", i, out[0][i], want)
		}
	}
}

// checkSeeded builds models with seeds 1, 1 and 2 and checks that the
// seed alone decides the weights and that the graph has the given name,
// input and output; it returns the first model.
func checkSeeded(t *testing.T, build func(seed uint64) (*onnx.ModelProto, error), name, in, out string) *onnx.ModelProto {
	t.Helper()
	var ms []*onnx.ModelProto
	for _, seed := range []uint64{1, 1, 2} {
		m, err := build(seed)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if !proto.Equal(ms[0], ms[1]) {
		t.Error("same seed, different models")
	}
	if proto.Equal(ms[0], ms[2]) {
		t.Error("different seeds, same model")
	}
	g := ms[0].GetGraph()
	if g.GetName() != name || g.GetInput()[0].GetName() != in || g.GetOutput()[0].GetName() != out {
		t.Errorf("graph %q with input %q and output %q, want %q, %q and %q", g.GetName(), g.GetInput()[0].GetName(), g.GetOutput()[0].GetName(), name, in, out)
	}
	return ms[0]
}

// TestMLPInit checks PyTorch's default initialisation bounds, that the
// seed alone decides the weights, and the options.
func TestMLPInit(t *testing.T) {
	a := checkSeeded(t, func(seed uint64) (*onnx.ModelProto, error) {
		return mlp.New("mlp:4-50-1", mlp.Options{Seed: seed, Input: "z", Output: "energy", Name: "E"})
	}, "E", "z", "energy")
	g := a.GetGraph()
	dims, _, _ := onnx.ValueInfoShape(g.GetInput()[0])
	if dims[0].Param != "batch" || dims[1].Value != 4 {
		t.Errorf("input dims %v", dims)
	}
	for _, init := range g.GetInitializer() {
		data, shape, err := onnx.TensorFloat64(init)
		if err != nil {
			t.Fatal(err)
		}
		fanIn := map[string]int{"fc0": 4, "fc1": 50}[init.GetName()[:3]]
		bound := 1 / math.Sqrt(float64(fanIn))
		lo, hi := slices.Min(data), slices.Max(data)
		if lo < -bound || hi > bound {
			t.Errorf("%s %v: values in [%g, %g], want within ±%g", init.GetName(), shape, lo, hi, bound)
		}
		if len(data) >= 50 && (hi < bound/2 || lo > -bound/2) {
			t.Errorf("%s: values in [%g, %g] do not spread over ±%g", init.GetName(), lo, hi, bound)
		}
	}
	if _, err := mlp.New("mlp:2-2", mlp.Options{Input: "x", Output: "x"}); err == nil {
		t.Error("input and output of one name accepted")
	}
}
