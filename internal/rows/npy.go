package rows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// maxNPYHeader bounds the NPY header length. numpy itself refuses headers
// over 10000 bytes by default.
const maxNPYHeader = 1 << 20

// maxNPYRowBytes bounds the size of one NPY row.
const maxNPYRowBytes = 1 << 30

type npyDecoder struct {
	name     string
	src      io.Reader
	shape    []int // of the array
	rowShape []int
	rows     int
	width    int
	// nonFinite is ReadOptions.NonFinite.
	nonFinite bool
	// float32 is ReadOptions.Float32.
	float32  bool
	itemSize int
	isFloat  bool
	convert  func(dst []float64, src []byte)
	// convert32 decodes float32 values as they are, for a file of dtype
	// float32; nil for the other dtypes.
	convert32 func(dst []float32, src []byte)

	row    int    // index of the next row
	buf    []byte // rows read ahead
	bufPos int
	err    error // what stops decoding after the rows in buf
}

func newNPYDecoder(name string, src io.Reader, size int64) (*npyDecoder, error) {
	prefix := make([]byte, 8, 12)
	if _, err := io.ReadFull(src, prefix); err != nil {
		return nil, npyShort(name, err, "header")
	}
	if !bytes.Equal(prefix[:6], npy.Magic[:]) {
		return nil, fmt.Errorf("%s: not an NPY file", name)
	}
	var hdrLen int
	switch major := prefix[6]; major {
	case 1:
		prefix = prefix[:10]
		if _, err := io.ReadFull(src, prefix[8:]); err != nil {
			return nil, npyShort(name, err, "header")
		}
		hdrLen = int(binary.LittleEndian.Uint16(prefix[8:]))
	case 2:
		prefix = prefix[:12]
		if _, err := io.ReadFull(src, prefix[8:]); err != nil {
			return nil, npyShort(name, err, "header")
		}
		n := binary.LittleEndian.Uint32(prefix[8:])
		if n > maxNPYHeader {
			return nil, fmt.Errorf("%s: NPY header of %d bytes is too long", name, n)
		}
		hdrLen = int(n)
	default:
		return nil, fmt.Errorf("%s: unsupported NPY format version %d.%d", name, major, prefix[7])
	}
	raw := make([]byte, len(prefix)+hdrLen)
	copy(raw, prefix)
	if _, err := io.ReadFull(src, raw[len(prefix):]); err != nil {
		return nil, npyShort(name, err, "header")
	}
	hdr, err := decodeNPYHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: bad NPY header: %v", name, err)
	}

	d := &npyDecoder{name: name, src: src, shape: hdr.Descr.Shape}
	if hdr.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran-order arrays are not supported; save a C-order array (numpy.ascontiguousarray)", name)
	}
	if err := d.setType(hdr.Descr.Type); err != nil {
		return nil, err
	}
	if len(d.shape) == 0 {
		return nil, fmt.Errorf("%s: holds a scalar, want an array of rows", name)
	}
	for _, n := range d.shape {
		if n < 0 {
			return nil, fmt.Errorf("%s: bad NPY header: negative shape %v", name, d.shape)
		}
	}
	d.rows = d.shape[0]
	d.rowShape = d.shape[1:]
	if len(d.rowShape) == 0 {
		d.rowShape = []int{1}
	}
	d.width = 1
	for _, n := range d.rowShape {
		if n == 0 {
			return nil, fmt.Errorf("%s: rows of shape %v hold no values", name, d.rowShape)
		}
		if n > maxNPYRowBytes/d.itemSize/d.width {
			return nil, fmt.Errorf("%s: rows of shape %v are too large", name, d.rowShape)
		}
		d.width *= n
	}
	if size >= 0 {
		rowBytes := int64(d.width * d.itemSize)
		held := (size - int64(len(raw))) / rowBytes
		if held < int64(d.rows) {
			return nil, fmt.Errorf("%s: truncated: header says %d rows, file holds %d", name, d.rows, held)
		}
	}
	return d, nil
}

// decodeNPYHeader decodes an NPY header with npyio, turning its panics on
// malformed headers into errors.
func decodeNPYHeader(raw []byte) (hdr npy.Header, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("cannot parse %q", headerDict(raw))
		}
	}()
	r, err := npy.NewReader(bytes.NewReader(raw))
	if err != nil {
		return hdr, err
	}
	hdr = r.Header
	// npyio keeps the descr as the header's Python literal, '<f8'.
	if t := hdr.Descr.Type; len(t) >= 2 && (t[0] == '\'' || t[0] == '"') && t[len(t)-1] == t[0] {
		hdr.Descr.Type = t[1 : len(t)-1]
	}
	return hdr, nil
}

// headerDict returns the header dictionary text of a raw NPY header, for
// error messages.
func headerDict(raw []byte) string {
	i := 10
	if raw[6] == 2 {
		i = 12
	}
	s := strings.TrimSpace(string(raw[i:]))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func npyShort(name string, err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: truncated NPY %s", name, what)
	}
	return err
}

// setType sets up the conversion from the dtype descr to float64.
func (d *npyDecoder) setType(descr string) error {
	unsupported := fmt.Errorf("%s: unsupported dtype %s (want a float or integer type)", d.name, descr)
	t := npyType(descr)
	if t == nil {
		return unsupported
	}
	var order binary.ByteOrder = binary.NativeEndian
	switch descr[0] {
	case '<':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	}
	d.itemSize = int(t.Size())
	switch t.Kind() {
	case reflect.Float64:
		d.isFloat = true
		if order == binary.LittleEndian {
			d.convert = func(dst []float64, src []byte) {
				for i := range dst {
					dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
				}
			}
			return nil
		}
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = math.Float64frombits(order.Uint64(src[8*i:]))
			}
		}
	case reflect.Float32:
		d.setFloat32(order)
	case reflect.Int8:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int8(src[i]))
			}
		}
	case reflect.Uint8:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(src[i])
			}
		}
	case reflect.Int16:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int16(order.Uint16(src[2*i:])))
			}
		}
	case reflect.Uint16:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint16(src[2*i:]))
			}
		}
	case reflect.Int32:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int32(order.Uint32(src[4*i:])))
			}
		}
	case reflect.Uint32:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint32(src[4*i:]))
			}
		}
	case reflect.Int64:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(int64(order.Uint64(src[8*i:])))
			}
		}
	case reflect.Uint64:
		d.convert = func(dst []float64, src []byte) {
			for i := range dst {
				dst[i] = float64(order.Uint64(src[8*i:]))
			}
		}
	default:
		return unsupported
	}
	return nil
}

// setFloat32 sets up the decoding of float32 values in byte order order:
// as they are (convert32) and as float64 (convert).
func (d *npyDecoder) setFloat32(order binary.ByteOrder) {
	d.isFloat = true
	d.convert32 = func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(src[4*i:]))
		}
	}
	if order == binary.LittleEndian {
		// A call through the ByteOrder interface per value cost
		// more than the rest of decoding.
		d.convert32 = func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		}
	}
	d.convert = func(dst []float64, src []byte) {
		const chunk = 256
		var buf [chunk]float32
		for len(dst) > 0 {
			n := min(chunk, len(dst))
			d.convert32(buf[:n], src[:4*n])
			for i, v := range buf[:n] {
				dst[i] = float64(v)
			}
			dst, src = dst[n:], src[4*n:]
		}
	}
}

// npyType returns the Go type of an NPY dtype descr as npyio reads it, or
// nil if there is none.
func npyType(descr string) (t reflect.Type) {
	if descr == "" {
		return nil
	}
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	return npy.TypeFrom(descr)
}

// fill refills d.buf, once it is used up, with as many whole rows as fit
// in 64 KiB, at least one. It fails only if no row is left to decode.
func (d *npyDecoder) fill() error {
	if d.row >= d.rows {
		return io.EOF
	}
	if d.bufPos < len(d.buf) {
		return nil
	}
	if d.err != nil {
		return d.err
	}
	rowBytes := d.width * d.itemSize
	n := max(1, (64<<10)/rowBytes)
	n = min(n, d.rows-d.row)
	if cap(d.buf) < n*rowBytes {
		d.buf = make([]byte, n*rowBytes)
	}
	d.buf = d.buf[:n*rowBytes]
	d.bufPos = 0
	if k, err := io.ReadFull(d.src, d.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%s: truncated: header says %d rows, file holds %d", d.name, d.rows, d.row+k/rowBytes)
		}
		d.err = err
		d.buf = d.buf[:k/rowBytes*rowBytes]
		if len(d.buf) == 0 {
			return d.err
		}
	}
	return nil
}

// nextRows decodes into dst, whose length is a multiple of the row width,
// the rows read ahead, as many as fit, with one call to d.convert rather
// than one a row, and returns how many. It stops before a row holding a
// non-finite value, which next must report, and so may return 0 and no
// error.
func (d *npyDecoder) nextRows(dst []float64) (int, error) {
	return nextRowsOf(d, dst, d.convert)
}

// nextRows32 is nextRows for a file of dtype float32, decoding its values
// as they are, with d.convert32.
func (d *npyDecoder) nextRows32(dst []float32) (int, error) {
	return nextRowsOf(d, dst, d.convert32)
}

// nextRowsOf is nextRows and nextRows32, decoding with convert.
func nextRowsOf[T float32 | float64](d *npyDecoder, dst []T, convert func([]T, []byte)) (int, error) {
	if err := d.fill(); err != nil {
		return 0, err
	}
	rowBytes := d.width * d.itemSize
	n := min(len(dst)/d.width, (len(d.buf)-d.bufPos)/rowBytes)
	out := dst[:n*d.width]
	convert(out, d.buf[d.bufPos:d.bufPos+n*rowBytes])
	if d.isFloat && !d.nonFinite {
		for i, v := range out {
			if v-v != 0 { // NaN or ±Inf
				n = i / d.width
				break
			}
		}
	}
	d.bufPos += n * rowBytes
	d.row += n
	return n, nil
}

func (d *npyDecoder) next(dst []float64) error {
	if err := d.fill(); err != nil {
		return err
	}
	rowBytes := d.width * d.itemSize
	d.convert(dst, d.buf[d.bufPos:d.bufPos+rowBytes])
	d.bufPos += rowBytes
	row := d.row
	d.row++
	if !d.isFloat || d.nonFinite && !d.float32 {
		return nil
	}
	for i, v := range dst {
		var err error
		if v-v != 0 && !d.nonFinite { // NaN or ±Inf
			err = checkFinite(v)
		} else if d.float32 {
			err = checkFloat32(v)
		}
		if err != nil {
			return &rowError{
				line: row,
				text: formatRow(dst),
				err:  fmt.Errorf("%s: row %d: element %s: %w", d.name, row, d.index(row, i), err),
			}
		}
	}
	return nil
}

// index formats the numpy index of element i of row.
func (d *npyDecoder) index(row, i int) string {
	idx := make([]int, len(d.shape))
	idx[0] = row
	for a := len(d.shape) - 1; a > 0; a-- {
		idx[a] = i % d.shape[a]
		i /= d.shape[a]
	}
	return strings.Join(strings.Fields(fmt.Sprint(idx)), ", ")
}
