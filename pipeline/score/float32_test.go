package score

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testmodel"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
)

// TestScoreFloat32Range scores, on both engines, a row beyond float32's
// range (a bad row: an error, or a reject with SkipBadRows), a row whose
// energy overflows float32 (+Inf, counted and written as "Infinity" in
// JSONL) and an ordinary row.
func TestScoreFloat32Range(t *testing.T) {
	dir := t.TempDir()
	te := testmodel.Energy{Mu: []float64{0, 0}, Sigma: []float64{0.5, 1}}
	model := filepath.Join(dir, "energy.onnx")
	if err := onnx.Save(model, te.Model()); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(input, []byte("a,b\n3.5e38,0\n3e38,0\n1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, eng := range []string{engine.Go, engine.ORT} {
		t.Run(eng, func(t *testing.T) {
			if eng == engine.ORT {
				testutil.NeedORT(t)
			}
			o := DefaultOptions()
			o.Model, o.Input, o.Engine, o.Workers = model, input, eng, 1
			o.Output = filepath.Join(dir, eng+".jsonl")
			_, err := Score(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), "rows.csv:2: column 1: 3.5e+38 is beyond the range of float32") {
				t.Fatalf("without SkipBadRows: %v; want an error naming line 2", err)
			}
			o.SkipBadRows = true
			st, err := Score(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Rows != 2 || st.Rejected != 1 || st.NonFinite != 1 {
				t.Errorf("stats %+v; want 2 rows, 1 rejected, 1 non-finite", st)
			}
			b, err := os.ReadFile(o.Output)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), `{"energy": "Infinity"}`+"\n") {
				t.Errorf("output:\n%s\nwant the first energy written as \"Infinity\"", b)
			}
			got, _ := testutil.ReadRows(t, o.Output)
			if len(got) != 2 || !math.IsInf(got[0], 1) || !testutil.CloseTo(got[1], 2.5, 1e-6) {
				t.Errorf("read back %v, want [+Inf 2.5]", got)
			}
		})
	}
}
