package importers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/flow"
)

// TestFlowGradients checks first- and second-order gradients through
// flow models (onnx/flow) with random parameters against central
// differences, as TestFixtures does for the fixture models: ∂y/∂z and
// ∂(y + ½‖∂y/∂z‖²)/∂(z, parameters).
func TestFlowGradients(t *testing.T) {
	for _, c := range []struct {
		spec string
		seed uint64
	}{{"flow:2-3-5", 1}, {"flow:2-2-4:silu", 2}, {"flow:3-3-4-3:softplus", 3}} {
		t.Run(fmt.Sprint(c.spec, "/", c.seed), func(t *testing.T) {
			m, err := flow.New(c.spec, flow.Options{Seed: c.seed})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(c.seed, 7))
			for i, init := range m.Graph.Initializer {
				if onnx.DataType(init.GetDataType()) != onnx.TensorProto_FLOAT {
					continue
				}
				data, shape, err := onnx.TensorFloat64(init)
				if err != nil {
					t.Fatal(err)
				}
				f := make([]float32, len(data))
				for k, v := range data {
					f[k] = float32(v + 0.4*r.NormFloat64())
				}
				m.Graph.Initializer[i] = onnx.NewTensorFloat32(init.GetName(), shape, f)
			}
			net, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := flow.Parse(c.spec)
			const rows = 4
			z := make([]float64, rows*s.Dim)
			for i := range z {
				z[i] = 1.5 * r.NormFloat64()
			}
			ng, err := newNetGrad(net, []autodiff.Tensor{autodiff.NewTensor([]int{rows, s.Dim}, z)}, false, 17)
			if err != nil {
				t.Fatal(err)
			}
			if err := ng.check(6, 1e-5, 19); err != nil {
				t.Error(err)
			}
		})
	}
}
