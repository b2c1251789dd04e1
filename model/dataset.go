package model

import "fmt"

// Dataset is a training or evaluation table: X is row-major with one column
// per feature, Y holds 0 or 1.
type Dataset struct {
	Features []string
	X        []float64
	Y        []float64
}

// Rows returns the number of rows.
func (d *Dataset) Rows() int { return len(d.Y) }

// Row returns row i's feature values (a view into X).
func (d *Dataset) Row(i int) []float64 {
	n := len(d.Features)
	return d.X[i*n : (i+1)*n : (i+1)*n]
}

// Append adds one row.
func (d *Dataset) Append(x []float64, y float64) {
	d.X = append(d.X, x...)
	d.Y = append(d.Y, y)
}

func (d *Dataset) check() error {
	if len(d.Features) == 0 {
		return fmt.Errorf("dataset has no features")
	}
	if d.Rows() == 0 {
		return errNoRows
	}
	if len(d.X) != d.Rows()*len(d.Features) {
		return fmt.Errorf("dataset has %d values for %d rows of %d features", len(d.X), d.Rows(), len(d.Features))
	}
	var pos int
	for i, y := range d.Y {
		if y != 0 && y != 1 {
			return fmt.Errorf("dataset row %d: label %v, want 0 or 1", i, y)
		}
		pos += int(y)
	}
	if pos == 0 || pos == d.Rows() {
		return fmt.Errorf("dataset has one class only (%d positives of %d)", pos, d.Rows())
	}
	for i, x := range d.X {
		if !finite(x) {
			return fmt.Errorf("dataset row %d feature %s: value %v is not finite", i/len(d.Features), d.Features[i%len(d.Features)], x)
		}
	}
	return nil
}

func (d *Dataset) positives() int {
	n := 0
	for _, y := range d.Y {
		n += int(y)
	}
	return n
}
