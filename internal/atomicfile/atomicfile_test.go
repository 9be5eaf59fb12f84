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

// TestCommitFails checks that a Commit whose rename fails leaves the target
// as it was and no temporary file behind.
func TestCommitFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.bin")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	// The target turns into a non-empty directory: the rename fails.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("Commit over a non-empty directory succeeded")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "a.bin" || !ents[0].IsDir() {
		t.Errorf("directory holds %v, want only the directory a.bin", ents)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after a failed Commit: %v", err)
	}
}

// TestAbort checks that Abort removes the temporary file and leaves the
// target as it was, and that Commit after Abort fails.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.bin")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".a.bin.*.tmp")); len(m) != 1 {
		t.Errorf("temporary files %v, want one .a.bin.*.tmp", m)
	}
	f.Write([]byte("new"))
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old" {
		t.Errorf("target holds %q, %v; want old", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
	// A replacing write keeps the target's permissions.
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file: %v, %v; want mode 0600", fi.Mode(), err)
	}
}
