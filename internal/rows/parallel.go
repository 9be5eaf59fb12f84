package rows

import (
	"bytes"
	"slices"
	"sync"
)

// chunkLines and chunkBytes bound a chunk of lines decoded by one worker:
// it ends at whichever comes first, and holds at least one line. Tests
// lower them.
var (
	chunkLines = 4096
	chunkBytes = 1 << 20
)

// A lineDecoder is a rowDecoder of text lines that several goroutines can
// decode side by side.
type lineDecoder interface {
	rowDecoder

	// rest hands over the rest of the file: the line read ahead, if any,
	// numbered no, then the lines of lines, numbered from no+1 (from
	// lines.n+1 if there is no line read ahead). next must not be called
	// after rest.
	rest() (pending []byte, no int, lines *lineReader)

	// parser returns a function that parses the non-blank line numbered no
	// into dst, and returns nil or a *rowError. The functions parser
	// returns can run concurrently with each other.
	parser() func(line []byte, no int, dst []float64) error
}

func (d *csvDecoder) rest() ([]byte, int, *lineReader) {
	line := d.pending
	d.pending = nil
	return line, d.pendingNo, d.lines
}

// parser returns d.parse, which only reads d.
func (d *csvDecoder) parser() func([]byte, int, []float64) error { return d.parse }

func (d *jsonlDecoder) rest() ([]byte, int, *lineReader) {
	line := d.pending
	d.pending = nil
	return line, d.pendingNo, d.lines
}

func (d *jsonlDecoder) parser() func([]byte, int, []float64) error {
	seen := make([]bool, len(d.columns))
	return func(line []byte, no int, dst []float64) error {
		if err := d.parse(line, dst, seen); err != nil {
			return d.bad(line, no, err)
		}
		return nil
	}
}

// A chunk is a run of consecutive lines, and the rows decoded from them.
type chunk struct {
	// Filled by the splitter.
	first int    // number of the first line
	lines int    // number of lines
	text  []byte // the lines, each ending in "\n", for trimLineBreak
	err   error  // nil, or what ends the file after these lines (io.EOF)

	// Filled by a worker.
	rows []float64 // the good rows
	bad  []badRow  // the bad rows, in file order
	done chan struct{}
}

// badRow is a bad row in a chunk.
type badRow struct {
	before int // number of good rows before it in the chunk
	err    *rowError
}

// A parallelReader decodes the lines of a file on several goroutines: the
// splitter reads chunks of lines, workers decode them, and read hands out
// the rows in file order. A fixed set of chunks goes round from the free
// list to the splitter, to a worker and to read, which puts them back.
type parallelReader struct {
	dec        lineDecoder
	width      int
	workers    int
	chunkLines int
	chunkBytes int

	started bool
	free    chan *chunk   // chunks to fill
	order   chan *chunk   // filled chunks, in file order, for read
	work    chan *chunk   // filled chunks, for the workers
	quit    chan struct{} // closed to stop the goroutines
	once    sync.Once
	wg      sync.WaitGroup

	cur  *chunk // the chunk read hands out rows from, or nil
	pos  int    // rows of cur handed out
	nbad int    // bad rows of cur handed out
}

func newParallelReader(dec lineDecoder, width, workers int) *parallelReader {
	return &parallelReader{
		dec:        dec,
		width:      width,
		workers:    workers,
		chunkLines: chunkLines,
		chunkBytes: chunkBytes,
		quit:       make(chan struct{}),
	}
}

// start starts the splitter and the workers.
func (p *parallelReader) start() {
	p.started = true
	n := 2 * p.workers
	p.free = make(chan *chunk, n)
	p.order = make(chan *chunk, n) // so that sends never block:
	p.work = make(chan *chunk, n)  // there are only n chunks
	for range n {
		p.free <- &chunk{done: make(chan struct{}, 1)}
	}
	pending, no, lines := p.dec.rest()
	p.wg.Add(1 + p.workers)
	go p.split(pending, no, lines)
	for range p.workers {
		go p.decode(p.dec.parser())
	}
}

// stop tells the goroutines to stop.
func (p *parallelReader) stop() {
	p.once.Do(func() { close(p.quit) })
}

// wait waits for the goroutines to stop.
func (p *parallelReader) wait() { p.wg.Wait() }

// split reads chunks of lines until the end of the file or an error, the
// line read ahead first.
func (p *parallelReader) split(pending []byte, no int, lines *lineReader) {
	defer p.wg.Done()
	defer close(p.work)
	for {
		var c *chunk
		select {
		case c = <-p.free:
		case <-p.quit:
			return
		}
		c.first, c.lines, c.text, c.err = lines.n+1, 0, c.text[:0], nil
		if pending != nil {
			c.first, c.lines = no, 1
			c.text = append(append(c.text, pending...), '\r', '\n')
			pending = nil
		}
		for c.lines == 0 || c.lines < p.chunkLines && len(c.text) < p.chunkBytes {
			var n int
			c.text, n = lines.appendBuffered(c.text, p.chunkLines-c.lines)
			if n > 0 {
				c.lines += n
				continue
			}
			// Refill the buffer, or read a line longer than it, or the last
			// line, or find the end of the file or an error.
			line, err := lines.next()
			if err != nil {
				c.err = err
				break
			}
			// Whatever line ends in, trimLineBreak takes off just "\r\n".
			c.text = append(append(c.text, line...), '\r', '\n')
			c.lines++
		}
		p.order <- c
		p.work <- c
		if c.err != nil {
			return
		}
	}
}

// appendBuffered appends to dst up to max of the whole lines that lr holds
// in its buffer, as in the file, with their line breaks, and returns dst
// and the number of lines appended. Once trimLineBreak takes off their line
// breaks, they are the lines that next would return.
func (lr *lineReader) appendBuffered(dst []byte, max int) ([]byte, int) {
	if lr.n == 0 || max <= 0 {
		return dst, 0 // next trims a byte order mark off line 1
	}
	buf, _ := lr.br.Peek(lr.br.Buffered())
	buf = buf[:bytes.LastIndexByte(buf, '\n')+1]
	n := bytes.Count(buf, []byte("\n"))
	if n > max {
		end := 0
		for range max {
			end += bytes.IndexByte(buf[end:], '\n') + 1
		}
		buf, n = buf[:end], max
	}
	dst = append(dst, buf...)
	lr.br.Discard(len(buf))
	lr.n += n
	return dst, n
}

// decode decodes chunks with parse until there are no more or p stops.
func (p *parallelReader) decode(parse func([]byte, int, []float64) error) {
	defer p.wg.Done()
	w := p.width
	for {
		var c *chunk
		select {
		case c = <-p.work:
		case <-p.quit:
			return
		}
		if c == nil {
			return // the splitter is done
		}
		c.rows, c.bad = c.rows[:0], c.bad[:0]
		text := c.text
		for i := range c.lines {
			end := bytes.IndexByte(text, '\n') + 1
			line := trimLineBreak(text[:end])
			text = text[end:]
			if isBlank(line) {
				continue
			}
			k := len(c.rows)
			c.rows = slices.Grow(c.rows, w)[:k+w]
			err := parse(line, c.first+i, c.rows[k:k+w:k+w])
			if err == nil {
				continue
			}
			c.rows = c.rows[:k]
			if e, ok := err.(*rowError); ok {
				c.bad = append(c.bad, badRow{before: k / w, err: e})
				continue
			}
			c.err = err // the rest of the file is lost
			break
		}
		c.done <- struct{}{}
	}
}

// read fills dst with rows, passing bad rows to skip, as Reader.Read does
// with one goroutine. It returns the number of rows read and, if the
// Reader must stop after them, why: io.EOF, or an error from skip or from
// reading the file.
func (p *parallelReader) read(dst []float64, skip func(*rowError) error) (n int, err error) {
	if !p.started {
		p.start()
	}
	w := p.width
	room := len(dst) / w
	for n < room {
		c := p.cur
		if c == nil {
			c = <-p.order
			<-c.done
			p.cur, p.pos, p.nbad = c, 0, 0
		}
		good := len(c.rows) / w
		next := good // the rows up to the next bad one
		for p.nbad < len(c.bad) {
			b := c.bad[p.nbad]
			if b.before > p.pos {
				next = b.before
				break
			}
			p.nbad++
			if err := skip(b.err); err != nil {
				p.stop()
				return n, err
			}
		}
		k := min(room-n, next-p.pos)
		copy(dst[n*w:(n+k)*w], c.rows[p.pos*w:(p.pos+k)*w])
		n += k
		p.pos += k
		if p.pos == good && p.nbad == len(c.bad) {
			if c.err != nil {
				p.stop()
				return n, c.err
			}
			p.cur = nil
			p.free <- c
		}
	}
	return n, nil
}
