package autodiff

import (
	"runtime"
	"sync"
)

// The convolution kernels split the batch into chunks, each lowered to one
// im2col matrix, and run the chunks on up to GOMAXPROCS goroutines when the
// convolution is large enough to pay for them (see convLanes): the tape runs its nodes one
// at a time and OpenBLAS runs each product on one thread (openblas.go), so
// without this a convolution uses one CPU. Chunks never share an output
// example; the weight gradient, which every chunk adds to, is summed from
// one buffer per goroutine. The im2col scratch matrices come from a pool,
// so that a step does not allocate and clear them anew for every node.

// convParallelWork is the multiply–adds (per group) below which a
// convolution runs on one goroutine.
var convParallelWork = 1 << 18

// convLanes is the number of lanes a large convolution's batch is split
// into. It does not depend on GOMAXPROCS: each lane keeps its own weight
// gradient buffer, summed in lane order, so the result is the same bit for
// bit whatever the number of goroutines that run the lanes (a resumed run
// on another machine continues exactly).
const convLanes = 4

// convWorkers returns how many lanes share the batch of p and how many
// examples each im2col matrix holds.
func (p *convPlan) convWorkers() (lanes, nb int) {
	nb = p.chunk()
	if p.n < 2 || p.n*p.cg*p.kp*p.mg*p.op < convParallelWork {
		return 1, nb
	}
	lanes = min(convLanes, p.n)
	return lanes, min(nb, (p.n+lanes-1)/lanes)
}

// convEach calls f(w, n0, nc) for every chunk n0..n0+nc-1 of n examples
// (nc ≤ nb), lane w = 0..lanes-1 taking chunks w, w+lanes, ... in order;
// the lanes run on up to GOMAXPROCS goroutines.
func convEach(n, nb, lanes int, f func(w, n0, nc int)) {
	lane := func(w int) {
		for n0 := w * nb; n0 < n; n0 += lanes * nb {
			f(w, n0, min(nb, n-n0))
		}
	}
	workers := min(runtime.GOMAXPROCS(0), lanes)
	if workers <= 1 {
		for w := range lanes {
			lane(w)
		}
		return
	}
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := g; w < lanes; w += workers {
				lane(w)
			}
		}()
	}
	wg.Wait()
}

// convScratch pools scratch slices: [0] of float64, [1] of float32, as
// *[]T.
var convScratch [2]sync.Pool

func scratchPool[T float]() *sync.Pool {
	var z T
	if _, ok := any(z).(float32); ok {
		return &convScratch[1]
	}
	return &convScratch[0]
}

// getScratch returns a slice of n elements with arbitrary contents.
func getScratch[T float](n int) []T {
	if v, ok := scratchPool[T]().Get().(*[]T); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]T, n)
}

// putScratch returns s, from getScratch, to the pool.
func putScratch[T float](s []T) {
	if cap(s) > 0 {
		scratchPool[T]().Put(&s)
	}
}

// convBuffers holds one goroutine's im2col matrix and gathered output
// block.
type convBuffers[T float] struct{ col, buf []T }

// newConvBuffers returns, for each of workers goroutines, an im2col
// matrix of nb examples and, when nb > 1, a block of as many output rows.
func newConvBuffers[T float](p *convPlan, workers, nb int) []convBuffers[T] {
	bs := make([]convBuffers[T], workers)
	for i := range bs {
		bs[i].col = getScratch[T](p.cg * p.kp * nb * p.op)
		if nb > 1 {
			bs[i].buf = getScratch[T](p.mg * nb * p.op)
		}
	}
	return bs
}

// release returns the buffers of bs to the pool.
func releaseConvBuffers[T float](bs []convBuffers[T]) {
	for _, b := range bs {
		putScratch(b.col)
		putScratch(b.buf)
	}
}
