package train

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/importers/autodiff"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// batchNormStats estimates the running statistics of the
// BatchNormalization layers of the generator n, which trains with batch
// statistics and so never updates them: it runs n in training mode on
// batches latent draws of batch rows from r and returns, by initializer
// name, the average over the batches of each layer's batch mean and
// unbiased batch variance per channel — what PyTorch's running averages
// tend to. It returns nil if n has no BatchNormalization.
func batchNormStats(n *network, batch, batches int, r *data.RNG) (map[string][]float64, error) {
	m := proto.Clone(n.model).(*onnx.ModelProto)
	g := m.GetGraph()
	var bns []*onnx.NodeProto
	for _, nd := range g.GetNode() {
		in := nd.GetInput()
		if nd.GetOpType() == "BatchNormalization" && len(in) >= 5 && in[3] != "" && in[4] != "" {
			bns = append(bns, nd)
			// The rank is not known here; the importer does not check it
			// for outputs.
			g.Output = append(g.Output, onnx.NewValueInfo(in[0], onnx.TensorProto_FLOAT, onnx.Dim{Param: "batch"}, onnx.Dim{}))
		}
	}
	if len(bns) == 0 {
		return nil, nil
	}
	net, err := importers.New(m)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	t := autodiff.NewTape(autodiff.Float64)
	z := t.Variable("z", autodiff.Zeros(autodiff.Float64, append([]int{batch}, n.inRow...)...))
	ps := net.NewParams(t)
	for i, v := range n.values {
		if err := ps.SetData(i, v); err != nil {
			return nil, err
		}
	}
	outs, err := net.ApplyRows(t, ps, importers.ApplyOptions{Training: true}, z)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	vm := autodiff.NewMachine(t)
	defer vm.Close()
	sums := make([][2][]float64, len(bns))
	zb := make([]float64, batch*n.inWidth)
	var buf []float64
	for range batches {
		for i := range zb {
			zb[i] = r.NormFloat64()
		}
		if err := autodiff.CopyIn(z, zb); err != nil {
			return nil, err
		}
		if err := vm.Run(); err != nil {
			return nil, fmt.Errorf("batch statistics: %w", err)
		}
		for k := range bns {
			x := outs[1+k]
			if buf, err = autodiff.CopyOut(buf, x); err != nil {
				return nil, err
			}
			s := x.Shape()
			c := s[1]
			inner := onnx.ShapeSize(s[2:])
			count := s[0] * inner
			mean, vr := make([]float64, c), make([]float64, c)
			for i := range s[0] {
				for ch := range c {
					for j := range inner {
						mean[ch] += buf[(i*c+ch)*inner+j]
					}
				}
			}
			for ch := range mean {
				mean[ch] /= float64(count)
			}
			for i := range s[0] {
				for ch := range c {
					for j := range inner {
						d := buf[(i*c+ch)*inner+j] - mean[ch]
						vr[ch] += d * d
					}
				}
			}
			if sums[k][0] == nil {
				sums[k] = [2][]float64{make([]float64, c), make([]float64, c)}
			}
			for ch := range c {
				sums[k][0][ch] += mean[ch] / float64(batches)
				sums[k][1][ch] += vr[ch] / float64(max(count-1, 1)) / float64(batches)
			}
		}
		vm.Reset()
	}
	out := map[string][]float64{}
	for k, nd := range bns {
		out[nd.GetInput()[3]] = sums[k][0]
		out[nd.GetInput()[4]] = sums[k][1]
	}
	return out, nil
}
