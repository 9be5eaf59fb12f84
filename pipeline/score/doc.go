// Package score streams a row file through a model, writing the energies,
// log densities or raw outputs of every row to another row file.
package score
