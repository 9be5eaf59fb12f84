package export

import (
	"errors"
	"fmt"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// The opsets an export can write: from MinOpset, the first with the
// input forms of Squeeze, Unsqueeze, ReduceSum and Split, to MaxOpset, the
// newest the importer reads.
const (
	MinOpset = 13
	MaxOpset = importers.MaxOpset
)

// irVersions is the IR version an exported model of each opset declares:
// the first IR version of that opset.
var irVersions = map[int64]int64{13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}

// Options tune ModelWith and SaveWith.
type Options struct {
	// Opset is the version of the default ONNX operator set the exported
	// model imports, from MinOpset to MaxOpset (default Opset, 17).
	Opset int64
}

// DefaultOptions returns the options Model and Save use.
func DefaultOptions() Options { return Options{Opset: Opset} }

// Check reports invalid option values.
func (o Options) Check() error {
	var errs []error
	if o.Opset < MinOpset || o.Opset > MaxOpset {
		errs = append(errs, fmt.Errorf("Opset is %d; want %d to %d", o.Opset, MinOpset, MaxOpset))
	}
	return errors.Join(errs...)
}

// prepare returns m in the importer's form (importers.Prepare), with the
// output shapes the importer propagates when it can build m.
func prepare(m *onnx.ModelProto) (*onnx.ModelProto, error) {
	if net, err := importers.New(m); err == nil {
		return net.Model(), nil
	}
	return importers.Prepare(m)
}
