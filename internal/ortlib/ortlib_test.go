package ortlib

import (
	"errors"
	"testing"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// TestInitORTMissing checks the error for a library that is not there,
// which tells how to install it. (Init itself loads one library per
// process; the command-line tests run the binary for the whole path.)
func TestInitORTMissing(t *testing.T) {
	err := initLib("/nonexistent/libonnxruntime.so.1", "{ORTLib}")
	want := "ONNX Runtime unavailable: library /nonexistent/libonnxruntime.so.1 (from ORTLib) not found; " +
		"install it with `make setup` or scripts/install-ort.sh, or name it with ORTLib or $EBMPIPE_ORT_LIB"
	if err == nil || err.Error() != want || !errors.Is(err, ErrUnavailable) {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	var fe *fielderr.Error
	if !errors.As(err, &fe) || fe.Field() != "ORTLib" {
		t.Errorf("error %v does not name the field ORTLib", err)
	}
}

// TestResolveORTLib checks the order in which the library is looked for.
func TestResolveORTLib(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	cases := []struct {
		flag, env  string
		want, from string
	}{
		{"/a/lib.so", "/b/lib.so", "/a/lib.so", "{ORTLib}"},
		{"", "/b/lib.so", "/b/lib.so", "$EBMPIPE_ORT_LIB"},
		{"", "", "/cache/ebmpipe/onnxruntime-" + Version + "/libonnxruntime.so.1", "the default location"},
	}
	for _, c := range cases {
		t.Setenv(LibEnv, c.env)
		got, from := ResolveLib(c.flag)
		if got != c.want || from != c.from {
			t.Errorf("flag %q, env %q: got %s from %s, want %s from %s", c.flag, c.env, got, from, c.want, c.from)
		}
	}
}
