package atomicfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// TestWriteThroughLink checks that a target that is a symbolic link (or a
// chain of them, relative or absolute, or dangling) has the file it leads
// to replaced, and stays a link.
func TestWriteThroughLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "real", "model.onnx")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"rel.onnx":   "real/model.onnx",
		"abs.onnx":   file,
		"chain.onnx": "rel.onnx",
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
			t.Skipf("no symbolic links: %v", err)
		}
	}
	for _, name := range []string{"rel.onnx", "abs.onnx", "chain.onnx"} {
		link := filepath.Join(dir, name)
		if err := WriteFile(link, []byte("via "+name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link (%v)", name, err)
		}
		if b, _ := os.ReadFile(file); string(b) != "via "+name {
			t.Errorf("%s: the target holds %q", name, b)
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: the target's permissions became %v", name, fi.Mode().Perm())
		}
	}
	// A dangling link: its target is created.
	if err := os.Symlink("real/new.csv", filepath.Join(dir, "dangling.csv")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "dangling.csv"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real", "new.csv")); string(b) != "new" {
		t.Errorf("the dangling link's target holds %q", b)
	}
	// A loop fails.
	os.Symlink("loop2", filepath.Join(dir, "loop1"))
	os.Symlink("loop1", filepath.Join(dir, "loop2"))
	if err := WriteFile(filepath.Join(dir, "loop1"), nil); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("a loop of links: %v, want ELOOP", err)
	}
}

// TestRemoveStale checks that Create removes the temporary files of its
// target left by dead processes, and nothing else.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	files := map[string]bool{ // name: whether Create must remove it
		".out.csv." + dead + "-123.tmp":   true,
		".out.csv.1-123.tmp":              false, // init is alive
		".out.csv.123456.tmp":             false, // no process id: an older name
		".other.csv." + dead + "-123.tmp": false,
		".out.csv.x." + dead + "-1.tmp":   false,
		"out.csv." + dead + "-123.tmp":    false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Create(filepath.Join(dir, "out.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if want := ".out.csv." + strconv.Itoa(os.Getpid()) + "-"; !strings.HasPrefix(filepath.Base(f.Name()), want) {
		t.Errorf("temporary file %s, want a name starting %s", f.Name(), want)
	}
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := errors.Is(err, os.ErrNotExist); gone != removed {
			t.Errorf("%s: removed %v, want %v", name, gone, removed)
		}
	}
}
