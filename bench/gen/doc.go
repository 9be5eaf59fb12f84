// Command gen writes the benchmark input: seeded rows of 2-D standard
// normal points as float32, in two files: CSV (header x0,x1; shortest
// float32 decimals), NPY (float32, shape (rows, 2)).
//
// Usage:
//
//	go run ./bench/gen -rows 1000000 -csv in.csv -npy in.npy
package main
