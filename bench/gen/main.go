package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to write")
	csvPath := flag.String("csv", "", "CSV `FILE` to write")
	npyPath := flag.String("npy", "", "NPY `FILE` to write")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	if *rows < 1 || (*csvPath == "" && *npyPath == "") {
		log.Fatal("want -rows N >= 1 and -csv FILE and/or -npy FILE")
	}
	if *csvPath != "" {
		write(*csvPath, func(w *bufio.Writer) {
			w.WriteString("x0,x1\n")
			rng := rand.New(rand.NewPCG(1, 2))
			var b []byte
			for range *rows {
				b = strconv.AppendFloat(b[:0], float64(float32(rng.NormFloat64())), 'g', -1, 32)
				b = append(b, ',')
				b = strconv.AppendFloat(b, float64(float32(rng.NormFloat64())), 'g', -1, 32)
				b = append(b, '\n')
				w.Write(b)
			}
		})
	}
	if *npyPath != "" {
		write(*npyPath, func(w *bufio.Writer) {
			dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 2), }", *rows)
			pad := 64 - (10+len(dict)+1)%64
			hdr := []byte("\x93NUMPY\x01\x00")
			hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(dict)+pad+1))
			w.Write(hdr)
			w.WriteString(dict)
			for range pad {
				w.WriteByte(' ')
			}
			w.WriteByte('\n')
			rng := rand.New(rand.NewPCG(1, 2))
			var b [4]byte
			for range 2 * *rows {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(rng.NormFloat64())))
				w.Write(b[:])
			}
		})
	}
}

func write(path string, fill func(*bufio.Writer)) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
