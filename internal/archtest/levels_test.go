package archtest

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is the module path; packages are named below relative to it.
const module = "github.com/ebmpipe/ebmpipe"

// levels is the level of every package of the module (lowest first), as
// the layout decides it: a package may import only packages of its own or
// a lower level, and never a package of a directory above its own. Every
// package must be listed, so that a new package is checked from the start.
var levels = map[string]int{
	"internal/atomicfile": 0,
	"internal/rows":       0,
	"internal/ortlib":     0,
	"internal/testutil":   0,
	"internal/graphtest":  0,
	"internal/archtest":   0,
	"internal/fielderr":   0,
	"internal/langevin":   0,

	"importers/autodiff/internal/simd": 0,

	"onnx":               1,
	"onnx/mlp":           1,
	"onnx/flow":          1,
	"internal/testmodel": 1,

	"importers/autodiff": 2,

	"importers": 3,

	"bounds": 4,

	"export": 5,

	"train/data":    6,
	"train/metrics": 6,

	"train": 7,

	"pipeline/engine":    8,
	"pipeline/logz":      8,
	"pipeline/evaluate":  8,
	"pipeline/beamscore": 8,
	"pipeline/quality":   8,
	"pipeline/sample":    8,
	"pipeline/plot":      8,
	"pipeline/score":     8,

	"pipeline": 9,

	"internal/cli": 10,

	"cmd/ebmpipe":     11,
	"bench/gen":       11,
	"bench/rawort":    11,
	"bench/study":     11,
	"bench/truth":     11,
	"bench/baselines": 11,
}

// parentAllowed lists the packages that may import their parent
// directory's package: onnx/mlp and onnx/flow build models of the format
// that their parent onnx defines.
var parentAllowed = map[string]bool{"onnx/mlp": true, "onnx/flow": true}

// rel returns path relative to the module, and whether it is in it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// violations returns the imports of p that break the level rule, one
// message each, and a message if p has no level.
func violations(p listed) []string {
	name, _ := rel(p.ImportPath)
	level, ok := levels[name]
	if !ok {
		return []string{name + ": not in the levels table"}
	}
	var bad []string
	check := func(kind string, imports []string) {
		for _, imp := range imports {
			dep, ok := rel(imp)
			if !ok || dep == name {
				continue
			}
			dl, known := levels[dep]
			switch {
			case !known:
				bad = append(bad, name+": "+kind+" "+dep+", which is not in the levels table")
			case strings.HasPrefix(name, dep+"/") && !parentAllowed[name]:
				bad = append(bad, name+": "+kind+" its parent "+dep)
			case dl > level:
				bad = append(bad, name+" (level "+strconv.Itoa(level)+"): "+kind+" "+dep+" (level "+strconv.Itoa(dl)+")")
			}
		}
	}
	check("imports", p.Imports)
	check("test imports", p.TestImports)
	check("external test imports", p.XTestImports)
	return bad
}

// TestLevels checks every package's imports, its tests' included, against
// the levels table.
func TestLevels(t *testing.T) {
	var bad []string
	for _, p := range listPackages(t, "") {
		bad = append(bad, violations(p)...)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestViolations checks that violations catches each kind of broken rule.
func TestViolations(t *testing.T) {
	cases := []struct {
		p    listed
		want []string
	}{
		{listed{ImportPath: module + "/train", Imports: []string{module + "/train/data", module + "/onnx", "fmt"}}, nil},
		{listed{ImportPath: module + "/onnx", Imports: []string{module + "/export"}},
			[]string{"onnx (level 1): imports export (level 5)"}},
		{listed{ImportPath: module + "/train/data", TestImports: []string{module + "/train"}},
			[]string{"train/data: test imports its parent train"}},
		{listed{ImportPath: module + "/pipeline/engine", XTestImports: []string{module + "/pipeline"}},
			[]string{"pipeline/engine: external test imports its parent pipeline"}},
		{listed{ImportPath: module + "/bounds", Imports: []string{module + "/nowhere"}},
			[]string{"bounds: imports nowhere, which is not in the levels table"}},
		{listed{ImportPath: module + "/newpkg"}, []string{"newpkg: not in the levels table"}},
		{listed{ImportPath: module + "/onnx/mlp", Imports: []string{module + "/onnx"}}, nil},
		{listed{ImportPath: module + "/cmd/ebmpipe", Imports: []string{module + "/internal/cli"}}, nil},
		{listed{ImportPath: module + "/internal/rows", XTestImports: []string{module + "/internal/cli"}},
			[]string{"internal/rows (level 0): external test imports internal/cli (level 10)"}},
	}
	for _, c := range cases {
		if got := violations(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.p.ImportPath, got, c.want)
		}
	}
}
