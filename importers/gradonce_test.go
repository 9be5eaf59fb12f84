package importers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGradCalledOnce guards the rule that keeps second-order gradients
// exact: Gorgonia's Grad (and its sibling Backpropagate) is called in one
// place only, Tape.ParamGrads, which refuses a second call on a tape. Every
// other derivative goes through the tape's own VJP rules. Calling Grad on
// nodes made by an earlier Grad gives wrong second derivatives in Gorgonia
// v0.9.18, so a new call anywhere in the module fails this test.
func TestGradCalledOnce(t *testing.T) {
	root := ".."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	fset := token.NewFileSet()
	var calls []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		// The local names of the gorgonia import in this file.
		names := map[string]bool{}
		for _, imp := range f.Imports {
			if strings.Trim(imp.Path.Value, `"`) != "gorgonia.org/gorgonia" {
				continue
			}
			name := "gorgonia"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] {
				switch sel.Sel.Name {
				case "Grad", "Backpropagate":
					calls = append(calls, fset.Position(sel.Pos()).String())
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || !strings.HasSuffix(filepath.ToSlash(strings.Split(calls[0], ":")[0]), "importers/autodiff/tape.go") {
		t.Errorf("Gorgonia's Grad must be called only in Tape.ParamGrads (importers/autodiff/tape.go); found %d calls: %v", len(calls), calls)
	}
}
