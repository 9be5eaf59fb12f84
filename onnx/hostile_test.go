package onnx

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
)

// hostileDir holds the hostile-model corpus (testdata/hostile/README.md).
const hostileDir = "../testdata/hostile"

// TestValidateHostileCorpus checks Validate on every model of the hostile
// corpus: it rejects the structurally invalid ones with one problem naming
// the culprit, and accepts the others (bombs and missing inputs are
// structurally valid; the importer refuses them).
func TestValidateHostileCorpus(t *testing.T) {
	corpus := testutil.HostileCorpus(t, hostileDir)
	structural := 0
	for _, h := range corpus {
		t.Run(h.Name, func(t *testing.T) {
			m, err := Load(filepath.Join(hostileDir, h.Model))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(m)
			if !h.Structural {
				if err != nil {
					t.Errorf("Validate: %v; the model is structurally valid", err)
				}
				return
			}
			structural++
			if err == nil {
				t.Fatal("Validate accepted the model")
			}
			msg := strings.TrimPrefix(err.Error(), "onnx: invalid model: ")
			if strings.Contains(msg, "\n") {
				t.Errorf("Validate reported several problems, want one:\n%s", msg)
			}
			if !strings.Contains(msg, h.Culprit) {
				t.Errorf("Validate: %q does not name %q", msg, h.Culprit)
			}
		})
	}
	if structural != 3 {
		t.Errorf("%d structurally invalid models, want 3 (input_empty_name, cycle, undefined_input)", structural)
	}
}
