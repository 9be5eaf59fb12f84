package beamscore

import (
	"flag"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	// The runners Options.Runner names, and the gs:// filesystem.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// Init starts Beam. Call it first in main, with the program's arguments
// (os.Args[1:]). When a runner starts the binary as a Beam worker
// (arguments --worker=true --id=... in Beam's flag syntax), Init parses
// them with the standard flag package and runs the worker; it does not
// return then. Otherwise it leaves the arguments to the program, and
// Beam logs warnings and errors only: a runner's progress messages would
// drown the program's own.
func Init(args []string) {
	if IsWorker(args) {
		flag.CommandLine.Parse(args)
	} else {
		beamlog.LogLevel = "warn"
	}
	beam.Init()
}

// IsWorker reports whether args start a Beam worker: Beam's container boot
// passes --worker=true first.
func IsWorker(args []string) bool {
	return len(args) > 0 && (args[0] == "--worker=true" || args[0] == "--worker" || args[0] == "-worker=true" || args[0] == "-worker")
}

// SetBeamOption sets one of Beam's pipeline options, such as endpoint,
// environment_type, project, region or temp_location, by its flag name in
// the standard flag package, where the Go SDK keeps them.
func SetBeamOption(name, value string) error {
	return flag.CommandLine.Set(name, value)
}
