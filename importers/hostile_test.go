package importers

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/testutil"
)

// hostileDir holds the hostile-model corpus (testdata/hostile/README.md).
const hostileDir = "../testdata/hostile"

// TestHostileCorpus loads every model of the hostile corpus: each must be
// refused by Load with an error naming its culprit (node or input), the
// allocation bombs with their size in elements, without a panic and
// before anything of that size is allocated.
func TestHostileCorpus(t *testing.T) {
	corpus := testutil.HostileCorpus(t, hostileDir)
	for _, h := range corpus {
		t.Run(h.Name, func(t *testing.T) {
			_, err := Load(filepath.Join(hostileDir, h.Model))
			if err == nil {
				t.Fatalf("Load accepted the model; want %s", h.Want)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, h.Culprit) {
				t.Errorf("error does not name %q", h.Culprit)
			}
			if strings.Contains(h.Want, "size") || strings.Contains(h.Want, "too large") {
				if !strings.Contains(msg, "elements") || !strings.Contains(msg, "over the limit") {
					t.Errorf("error does not give the size against the limit")
				}
			}
		})
	}
}
