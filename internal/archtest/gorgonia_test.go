package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// engine is the one package that may import Gorgonia: the rest of the
// module sees autodiff's own types, so that a change of engine touches one
// package.
const engine = "github.com/ebmpipe/ebmpipe/importers/autodiff"

// listed is what `go list -json` says of a package that this test reads.
type listed struct {
	ImportPath   string
	Dir          string
	Imports      []string
	TestImports  []string
	XTestImports []string
	// GoFiles, CgoFiles and IgnoredGoFiles (those left out by build
	// constraints) are the package's source files in Dir.
	GoFiles, CgoFiles, IgnoredGoFiles []string
}

// isGorgonia reports whether path is Gorgonia or one of its type-system
// dependencies.
func isGorgonia(path string) bool {
	for _, p := range []string{"gorgonia.org", "github.com/chewxy/hm"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// gorgoniaImports returns "package imports path" for every import of
// Gorgonia, tests included, by a package other than the engine.
func gorgoniaImports(pkgs []listed) []string {
	var out []string
	for _, p := range pkgs {
		if p.ImportPath == engine {
			continue
		}
		for _, imps := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range imps {
				if isGorgonia(imp) {
					out = append(out, p.ImportPath+" imports "+imp)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// listPackages runs `go list -json` on every package of the module with
// the given build tags.
func listPackages(t *testing.T, tags string) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-tags", tags, "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(b)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// moduleRoot returns the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod)))
}

// TestGorgoniaOnlyInAutodiff checks that no package but importers/autodiff
// imports Gorgonia (gorgonia.org/..., github.com/chewxy/hm), in its code or
// its tests, with and without the openblas build tag.
func TestGorgoniaOnlyInAutodiff(t *testing.T) {
	for _, tags := range []string{"", "openblas"} {
		pkgs := listPackages(t, tags)
		if !slices.ContainsFunc(pkgs, func(p listed) bool { return p.ImportPath == engine }) {
			t.Fatalf("tags %q: go list does not list %s", tags, engine)
		}
		for _, bad := range gorgoniaImports(pkgs) {
			t.Errorf("tags %q: %s: only %s may import Gorgonia", tags, bad, engine)
		}
	}
}

// TestGorgoniaImports checks the check on made-up package lists.
func TestGorgoniaImports(t *testing.T) {
	tests := []struct {
		name string
		pkgs []listed
		want []string
	}{
		{"engine may", []listed{{ImportPath: engine, Imports: []string{"gorgonia.org/gorgonia", "github.com/chewxy/hm"}}}, nil},
		{"clean", []listed{{ImportPath: "m/a", Imports: []string{"fmt", "gorgonia.org.evil/x"}, TestImports: []string{engine}}}, nil},
		{"import", []listed{{ImportPath: "m/a", Imports: []string{"gorgonia.org/tensor"}}}, []string{"m/a imports gorgonia.org/tensor"}},
		{"test import", []listed{{ImportPath: "m/a", TestImports: []string{"github.com/chewxy/hm"}}}, []string{"m/a imports github.com/chewxy/hm"}},
		{"external test", []listed{{ImportPath: "m/b", XTestImports: []string{"gorgonia.org/gorgonia"}}}, []string{"m/b imports gorgonia.org/gorgonia"}},
	}
	for _, tt := range tests {
		if got := gorgoniaImports(tt.pkgs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
