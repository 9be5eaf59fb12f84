package export_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/flow"
)

// TestFlowImports builds flows of every activation and checks that the
// model survives the wire format, imports with exactly the expected
// trainable parameters (the index and clamp constants are not
// parameters) and starts close to the identity map.
func TestFlowImports(t *testing.T) {
	for _, act := range flow.Activations {
		for _, spec := range []string{"flow:2-3-5:" + act, "flow:5-2-4-3:" + act} {
			m, err := flow.New(spec, flow.Options{Seed: 1})
			if err != nil {
				t.Fatalf("%s: %v", spec, err)
			}
			b, err := onnx.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = onnx.Decode(b); err != nil {
				t.Fatal(err)
			}
			net, err := importers.New(m)
			if err != nil {
				t.Fatalf("%s: import: %v", spec, err)
			}
			s, _ := flow.Parse(spec)
			var want []string
			wantCount := 2 * s.Dim
			for k := range s.Layers {
				width := s.Dim / 2
				for j, h := range s.Hidden {
					want = append(want, fmt.Sprintf("c%d.fc%d.weight", k, j), fmt.Sprintf("c%d.fc%d.bias", k, j))
					wantCount += width*h + h
					width = h
				}
				for _, head := range []string{"scale", "shift"} {
					want = append(want, fmt.Sprintf("c%d.%s.weight", k, head), fmt.Sprintf("c%d.%s.bias", k, head))
					wantCount += (width + 1) * (s.Dim - s.Dim/2)
				}
			}
			want = append(want, "out.logscale", "out.shift")
			var names []string
			for _, p := range net.Params() {
				names = append(names, p.Name)
				if !p.Trainable {
					t.Errorf("%s: %s not trainable", spec, p.Name)
				}
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("%s: params %v, want %v", spec, names, want)
			}
			if got := net.ParamCount(); got != wantCount {
				t.Errorf("%s: %d parameters, want %d", spec, got, wantCount)
			}
			const rows = 7
			z := ramp(rows*s.Dim, 0.4)
			x := goForward(t, m, z, rows)
			for i := range x {
				if math.Abs(x[i]-z[i]) > 0.05*(1+math.Abs(z[i])) {
					t.Fatalf("%s: a new flow maps %v to %v; want close to the identity", spec, z, x)
				}
			}
			if slices.Equal(x, z) {
				t.Errorf("%s: a new flow is exactly the identity; want its seeded heads to move it", spec)
			}
		}
	}
}

// TestFlowInit checks that the seed alone decides the weights, the
// options and the errors.
func TestFlowInit(t *testing.T) {
	checkSeeded(t, func(seed uint64) (*onnx.ModelProto, error) {
		return flow.New("flow:2-4-8", flow.Options{Seed: seed, Input: "z", Output: "generator", Name: "G"})
	}, "G", "z", "generator")
	for _, c := range []struct {
		opt flow.Options
		err string
	}{
		{flow.Options{Input: "x", Output: "x"}, "both named"},
		{flow.Options{Clamp: -1}, "clamp -1"},
		{flow.Options{Clamp: math.Inf(1)}, "clamp +Inf"},
	} {
		if _, err := flow.New("flow:2-2-2", c.opt); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("options %+v: error %v, want one containing %q", c.opt, err, c.err)
		}
	}
}

// TestExportFlowOpsets exports a flow with perturbed parameters at every
// opset from MinOpset to MaxOpset as a generator, re-imports it and checks
// that the importer and ONNX Runtime compute what the importer computes
// from the source.
func TestExportFlowOpsets(t *testing.T) {
	for _, spec := range []string{"flow:2-3-8:tanh", "flow:3-2-6-6:silu"} {
		src, err := flow.New(spec, flow.Options{Seed: 4, Output: "generator"})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := flow.Parse(spec)
		params := perturbParams(t, src)
		const rows = 6
		z := ramp(rows*s.Dim, 0.5)
		want := goForward(t, withParams(t, src, params), z, rows)
		for opset := int64(export.MinOpset); opset <= export.MaxOpset; opset++ {
			t.Run(fmt.Sprintf("%s/%d", spec, opset), func(t *testing.T) {
				exp, err := exportAt(t, src, params, export.Meta{Kind: export.KindGenerator}, opset)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := importers.New(exp); err != nil {
					t.Fatalf("re-import: %v", err)
				}
				checkClose(t, "re-import", goForward(t, exp, z, rows), want, tolGo)
				checkClose(t, "ONNX Runtime", ortForward(t, exp, z, []int{rows, s.Dim}), want, tolORT)
			})
		}
	}
}
