package rows

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readConfigs are the ways a Reader decodes lines that tests try: in Read,
// and on workers, with chunks of the default size and of 2 lines, so that
// small files span several chunks.
var readConfigs = []struct {
	name       string
	workers    int
	chunkLines int // 0 for the default
}{
	{"workers=1", 1, 0},
	{"workers=4", 4, 0},
	{"workers=4,chunk=2", 4, 2},
}

// forEachConfig runs f as a subtest of t named name (t itself if name is
// empty) for each of readConfigs, with the number of workers to use, and
// checks that f leaves no goroutine behind.
func forEachConfig(t *testing.T, name string, f func(t *testing.T, workers int)) {
	t.Helper()
	for _, c := range readConfigs {
		sub := c.name
		if name != "" {
			sub = name + "/" + sub
		}
		t.Run(sub, func(t *testing.T) {
			if c.chunkLines > 0 {
				defer func(n int) { chunkLines = n }(chunkLines)
				chunkLines = c.chunkLines
			}
			before := runtime.NumGoroutine()
			f(t, c.workers)
			waitGoroutines(t, before)
		})
	}
}

// waitGoroutines fails t unless the number of goroutines falls to n or
// fewer within a few seconds.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines are running, want %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// failingReader reads data, then fails with err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadParallelSame checks that workers read what Read alone reads,
// with the file failing at every byte, and with a line too long at every
// line, so that errors fall at chunk boundaries and within chunks.
func TestReadParallelSame(t *testing.T) {
	defer func(n int) { chunkLines = n }(chunkLines)
	defer func(n int) { maxLineBytes = n }(maxLineBytes)

	// fileLines returns n lines of CSV or JSONL rows of 2 values, with bad
	// rows and blank lines among them.
	fileLines := func(ft format, n int) []string {
		var lines []string
		for i := range n {
			var line string
			switch {
			case i%7 == 3:
				line = ""
			case i%5 == 2 && ft == formatCSV:
				line = fmt.Sprintf("%d,x", i)
			case i%5 == 2:
				line = fmt.Sprintf(`{"a": %d}`, i)
			case ft == formatCSV:
				line = fmt.Sprintf("%d,%g", i, float64(i)/3)
			default:
				line = fmt.Sprintf(`{"b": %g, "a": %d}`, float64(i)/3, i)
			}
			lines = append(lines, line)
		}
		return lines
	}
	type file struct {
		test  string
		name  string
		ft    format
		lines []string
	}
	files := []file{
		{"csv header", "x.csv", formatCSV, append([]string{"a,b"}, fileLines(formatCSV, 20)...)},
		{"csv", "x.csv", formatCSV, fileLines(formatCSV, 20)},
		{"jsonl", "x.jsonl", formatJSONL, fileLines(formatJSONL, 20)},
	}

	// read reads content, failing after it with a read error if fail, and
	// checks that workers get what Read alone gets.
	read := func(t *testing.T, f file, content string, fail bool) {
		t.Helper()
		for _, skip := range []bool{false, true} {
			for _, perRead := range []int{1, 4} {
				events := func(workers int) []string {
					var src io.Reader = strings.NewReader(content)
					if fail {
						src = &failingReader{data: []byte(content), err: errors.New(f.name + ": disk on fire")}
					}
					opt := ReadOptions{SkipBadRows: skip, Workers: workers}
					return readEvents(t, f.name, f.ft, src, -1, opt, perRead)
				}
				want := events(1)
				for _, lines := range []int{1, 3} {
					chunkLines = lines
					if got := events(3); !slices.Equal(got, want) {
						t.Fatalf("%q, SkipBadRows %v, %d rows a Read, chunks of %d lines: 3 workers read\n%s\nwant (1 worker)\n%s",
							content, skip, perRead, lines, fmtBad(got), fmtBad(want))
					}
				}
			}
		}
	}

	for _, f := range files {
		t.Run(f.test+"/read error", func(t *testing.T) {
			content := strings.Join(f.lines, "\n") + "\n"
			for cut := range len(content) + 1 {
				read(t, f, content[:cut], true)
			}
		})
		t.Run(f.test+"/long line", func(t *testing.T) {
			maxLineBytes = 70 << 10 // longer than the read buffer
			long := strings.Repeat("1", maxLineBytes+1)
			for i := 1; i < 10; i++ {
				lines := slices.Insert(slices.Clone(f.lines), i, long)
				read(t, f, strings.Join(lines, "\n"), false)
			}
		})
	}
}

// TestReadParallelLarge checks that workers read what Read alone reads
// from files larger than the read buffer, with lines ending in "\n",
// "\r\n" or "\r\r\n", some of them bad, read in pieces of every size.
func TestReadParallelLarge(t *testing.T) {
	defer func(n int) { chunkLines = n }(chunkLines)
	ends := []string{"\n", "\r\n", "\r\r\n", "\n\n"}
	for _, ft := range []format{formatCSV, formatJSONL} {
		var b strings.Builder
		for i := range 20_000 {
			switch {
			case i%997 == 5:
				b.WriteString("1,2,3")
			case ft == formatCSV:
				fmt.Fprintf(&b, "%d,%g", i, float64(i)/7)
			default:
				fmt.Fprintf(&b, "[%d, %g]", i, float64(i)/7)
			}
			b.WriteString(ends[i%len(ends)])
		}
		content := b.String()
		name := map[format]string{formatCSV: "x.csv", formatJSONL: "x.jsonl"}[ft]
		readers := map[string]func() io.Reader{
			"whole":    func() io.Reader { return strings.NewReader(content) },
			"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(content)) },
			"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(content)) },
		}
		for what, src := range readers {
			t.Run(name+"/"+what, func(t *testing.T) {
				events := func(workers int) []string {
					opt := ReadOptions{SkipBadRows: true, Workers: workers}
					return readEvents(t, name, ft, src(), -1, opt, 100)
				}
				want := events(1)
				for _, lines := range []int{1, 7, 4096} {
					chunkLines = lines
					if got := events(4); !slices.Equal(got, want) {
						i := 0
						for i < min(len(got), len(want)) && got[i] == want[i] {
							i++
						}
						t.Fatalf("chunks of %d lines: event %d of 4 workers differs from 1 worker's:\n%.300s\n%.300s",
							lines, i, append(got, "")[i], append(want, "")[i])
					}
				}
			})
		}
	}
}

// TestReadParallelStops checks that the goroutines stop when a Reader
// stops early, at the end of the file, or on an error, with or without
// Close.
func TestReadParallelStops(t *testing.T) {
	defer func(n int) { chunkLines = n }(chunkLines)
	chunkLines = 16
	var b bytes.Buffer
	for i := range 10_000 {
		fmt.Fprintf(&b, "%d,%d\n", i, -i)
	}
	b.WriteString("1,2,3\n4,5\n")
	path := writeFile(t, "x.csv", b.String())

	tests := []struct {
		name    string
		rows    int // to read before Close, or -1 to read to the end
		skip    bool
		close   bool // Close before counting goroutines
		wantErr string
	}{
		{name: "close early", rows: 10, close: true},
		{name: "close unread", rows: 0, close: true},
		{name: "end of file", rows: -1, skip: true, wantErr: "EOF"},
		{name: "bad row", rows: -1, wantErr: "x.csv:10001: has 3 columns, want 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			r, err := OpenReader(path, ReadOptions{SkipBadRows: tt.skip, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			if r.par == nil {
				t.Fatal("Reader decodes rows serially, want workers")
			}
			defer r.Close()
			buf := make([]float64, 2*10)
			if tt.rows > 0 {
				if n, err := r.Read(buf[:2*tt.rows]); n != tt.rows || err != nil {
					t.Fatalf("Read = %d, %v, want %d, nil", n, err, tt.rows)
				}
			}
			if tt.rows < 0 {
				var err error
				for err == nil {
					_, err = r.Read(buf)
				}
				if msg := rebase(err, filepath.Dir(path)); msg != tt.wantErr {
					t.Fatalf("Read error %q, want %q", msg, tt.wantErr)
				}
			}
			if tt.close {
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
			}
			waitGoroutines(t, before)
		})
	}
}

// TestReadNPYSerial checks that NPY files are decoded serially whatever
// the Workers.
func TestReadNPYSerial(t *testing.T) {
	r, err := OpenReader(filepath.Join("testdata", "f8_7.npy"), ReadOptions{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.par != nil {
		t.Error("NPY Reader decodes rows on workers, want serially")
	}
}
