//go:build openblas && cgo

package autodiff

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// Built with -tags openblas, matrix products go to OpenBLAS's cblas_dgemm
// and cblas_sgemm (Debian's libopenblas-dev; scripts/setup.sh installs
// it), about 4.5 times faster than Gonum's pure-Go kernels on the toy
// networks' 256×128 by 128×128 products; every other BLAS routine stays
// Gonum's. gonum.org/v1/netlib, Gonum's own cgo binding, has not been
// updated since 2019, so the two calls are bound here.
//
// Each product runs on one thread, whatever OPENBLAS_NUM_THREADS (or
// OMP_NUM_THREADS, GOTO_NUM_THREADS) says: ebmpipe parallelises across
// goroutines (scoring workers), its products are small (the toy networks'
// 256×128 by 128×128), and OpenBLAS's threads, which spin and yield
// between products, fight Go's for the CPUs. Measured on the 2-CPU
// development machine, a toy training step (issue 16's `ebmpipe train`
// run) used 26 ms of CPU time with one OpenBLAS thread and 46–70 ms with
// OPENBLAS_NUM_THREADS=2, most of the difference system time, and the whole
// command took twice as long; the variable is commonly set for PyTorch or
// NumPy in the same shell. EBMPIPE_BLAS_THREADS=N (a whole number ≥ 1)
// gives OpenBLAS N threads; other values are ignored.

// blasThreadsEnv names the environment variable that sets OpenBLAS's
// threads.
const blasThreadsEnv = "EBMPIPE_BLAS_THREADS"

func init() {
	C.openblas_set_num_threads(C.int(blasThreads(os.Getenv(blasThreadsEnv))))
	blas64.Use(openBLAS{})
	blas32.Use(openBLAS{})
}

// blasThreads returns the OpenBLAS threads the value v of
// EBMPIPE_BLAS_THREADS asks for: 1 unless v is a whole number ≥ 1.
func blasThreads(v string) int {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 {
		return n
	}
	return 1
}

// openBLASThreads returns the threads OpenBLAS runs a product on.
func openBLASThreads() int { return int(C.openblas_get_num_threads()) }

// BLASBackend names the implementation of the matrix products.
const BLASBackend = "OpenBLAS"

type openBLAS struct{ gonum.Implementation }

func cblasTrans(t blas.Transpose) uint32 {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

func (openBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || len(a) == 0 || len(b) == 0 {
		// Nothing to multiply: C = βC, as Gonum does.
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
		C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
}

func (openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || len(a) == 0 || len(b) == 0 {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

// blasThin tells gemmThin to take the thin products, which it sums in the
// order of OpenBLAS's Haswell kernel (OpenBLAS 0.3.21 runs it on AVX2
// CPUs, Zen 4 included): the same bits, faster. OpenBLAS's other kernels
// (SkylakeX's AVX-512, older CPUs') sum in other orders, so there every
// product stays OpenBLAS's.
var blasThin = openBLASCore() == "Haswell"

// openBLASCore names the CPU kernels OpenBLAS chose at start.
func openBLASCore() string { return C.GoString(C.openblas_get_corename()) }
