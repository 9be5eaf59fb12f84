package ortlib

import (
	"errors"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Version is the ONNX Runtime release that github.com/yalue/onnxruntime_go
// v1.27.0 is built against, and that scripts/install-ort.sh installs.
const Version = "1.24.3"

// LibEnv is the environment variable naming the ONNX Runtime shared
// library, consulted when no --ort-lib flag is given.
const LibEnv = "EBMPIPE_ORT_LIB"

// ErrUnavailable is wrapped by the errors that tell the ONNX Runtime
// library cannot be found or loaded, as opposed to errors in a model.
var ErrUnavailable = errors.New("ONNX Runtime unavailable")

// DefaultLib returns where scripts/install-ort.sh puts the library:
// ${XDG_CACHE_HOME:-$HOME/.cache}/ebmpipe/onnxruntime-VERSION/libonnxruntime.so.1.
func DefaultLib() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "ebmpipe", "onnxruntime-"+Version, "libonnxruntime.so.1")
}

// DefaultLibShown is DefaultLib as help texts show it.
const DefaultLibShown = "${XDG_CACHE_HOME:-~/.cache}/ebmpipe/onnxruntime-" + Version + "/libonnxruntime.so.1"

// ResolveLib returns the ONNX Runtime library to load and where that
// choice came from: lib (an options field ORTLib) if not empty, else the
// EBMPIPE_ORT_LIB environment variable, else DefaultLib. The source of a
// lib given is "{ORTLib}", the field as fielderr.Errorf refers to it.
func ResolveLib(lib string) (path, source string) {
	if lib != "" {
		return lib, "{ORTLib}"
	}
	if env := os.Getenv(LibEnv); env != "" {
		return env, "$" + LibEnv
	}
	return DefaultLib(), "the default location"
}

// ort holds the process-wide ONNX Runtime environment. ONNX Runtime has one
// environment per process, and the library can be loaded only once, so the
// first Init decides which library is used.
var ortEnv struct {
	once sync.Once
	lib  string // the library loaded, or tried
	err  error
}

// Init loads the ONNX Runtime shared library and creates the
// process-wide ONNX Runtime environment, once. lib is an options field
// ORTLib, resolved by ResolveLib. A later call asking for another
// library fails; one asking for the same library returns the first result.
// The errors for a missing or unloadable library wrap ErrUnavailable and
// tell how to install it.
func Init(lib string) error {
	path, source := ResolveLib(lib)
	ortEnv.once.Do(func() {
		ortEnv.lib = path
		ortEnv.err = initLib(path, source)
	})
	if ortEnv.lib != path {
		return fielderr.Errorf("%w: ONNX Runtime is already loaded from %s; cannot load %s (from "+source+") in the same process",
			ErrUnavailable, ortEnv.lib, path)
	}
	return ortEnv.err
}

const ortInstallHint = "install it with `make setup` or scripts/install-ort.sh, or name it with {ORTLib} or $" + LibEnv

func initLib(path, source string) error {
	if path == "" {
		return fielderr.Errorf("%w: no library path (no home directory for the default location); "+ortInstallHint, ErrUnavailable)
	}
	if _, err := os.Stat(path); err != nil {
		why := "not found"
		if !errors.Is(err, os.ErrNotExist) {
			why = err.Error()
		}
		return fielderr.Errorf("%w: library %s (from "+source+") %s; "+ortInstallHint, ErrUnavailable, path, why)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return fielderr.Errorf("%w: cannot load %s (from "+source+"; ebmpipe needs ONNX Runtime %s): %s; "+ortInstallHint,
			ErrUnavailable, path, Version[:strings.LastIndexByte(Version, '.')]+".x", OneLine(Cause(err)))
	}
	return nil
}

// OneLine returns the message of err on one line: ONNX Runtime's messages
// can span several.
func OneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Cause returns the innermost error that err wraps, ONNX Runtime's own
// message, without onnxruntime_go's prefixes such as "Error running
// network".
func Cause(err error) error {
	for {
		c := errors.Unwrap(err)
		if c == nil {
			return err
		}
		err = c
	}
}

// RuntimeVersion loads the ONNX Runtime library named by lib (resolved as
// by Init) and returns the version it reports.
func RuntimeVersion(lib string) (string, error) {
	if err := Init(lib); err != nil {
		return "", err
	}
	return ort.GetVersion(), nil
}
