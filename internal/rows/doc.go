// Package rows is the codec of row files: rows of numeric features in
// CSV, JSONL or NPY files, as ebmpipe trains on them or scores them.
//
// A row file holds rows of numeric features. Its format is chosen by the
// file extension, in any letter case:
//
//   - .csv: comma-separated numbers, one row per line. A first line whose
//     cells are not all numbers (empty cells aside) is a header, and its
//     cells name the columns. Blank lines are skipped.
//   - .jsonl: one JSON value per line, either an array of numbers such as
//     [0.5, -1.2] or an object with numeric fields such as
//     {"energy": -1.2, "log_density": 0.3}. The first row decides which:
//     in a file of objects, the keys of the first object name the columns
//     and every row must have exactly those keys, in any order. Blank lines
//     are skipped.
//   - .npy: a NumPy array of floats or integers (converted to float64) in
//     C order, little- or big-endian, of rank 1 or more. The first axis
//     numbers the rows; the remaining axes are the shape of one row, which
//     a Reader flattens. A rank-1 array holds rows of one value. A float32
//     array can also be read as it is, with Reader.Read32, and
//     Writer.Write32 writes float32 rows without a float64 buffer.
//
// NaN and ±Inf are not valid values: training and scoring reject them, so a
// Reader reports rows holding them as bad rows.
//
// A Reader streams rows in batches of the caller's size, in memory bounded
// by the batch and the longest line (and, with ReadOptions.Workers, by
// 2×Workers chunks of about 1 MiB of lines), whatever the size of the file.
// A Writer
// streams rows to a temporary file next to its target and moves it into
// place only on Commit, so the target never holds a partial file.
package rows
