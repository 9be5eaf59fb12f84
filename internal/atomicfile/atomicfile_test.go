package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want error
	}{
		{"new file", filepath.Join(dir, "a.bin"), nil},
		{"replace", filepath.Join(dir, "a.bin"), nil},
		{"directory", filepath.Join(dir, "sub"), ErrIsDir},
		{"missing directory", filepath.Join(dir, "nope", "a.bin"), syscall.ENOENT},
	}
	for _, tt := range tests {
		err := WriteFile(tt.path, []byte(tt.name))
		if !errors.Is(err, tt.want) || (tt.want != nil && err.Error() != tt.want.Error()) {
			t.Errorf("%s: WriteFile = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if tt.want == nil {
			if b, err := os.ReadFile(tt.path); err != nil || string(b) != tt.name {
				t.Errorf("%s: file holds %q, %v", tt.name, b, err)
			}
		}
	}
	// Nothing but the file and the directory is left.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files)", len(ents))
	}
}
