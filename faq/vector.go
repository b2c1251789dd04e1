package faq

import (
	"math"
	"slices"
)

// termW is one component of a sparse vector.
type termW struct {
	t int32
	w float32
}

// vector is the unit tf-idf vector of sorted term ids ((1 + ln tf)·idf).
func (ix *index) vector(terms []int32) []termW {
	var v []termW
	var n float64
	for t, tf := range runs(terms) {
		w := (1 + float32(math.Log(float64(tf)))) * ix.idf[t]
		v = append(v, termW{t, w})
		n += float64(w) * float64(w)
	}
	scale(v, n)
	return v
}

// queryVector is the unit tf-idf vector of a text, its unknown terms
// counted in the norm at the highest idf.
func (ix *index) queryVector(q query) []termW {
	var v []termW
	n := float64(q.unknownUni+q.unknownBi) * float64(ix.maxIDF) * float64(ix.maxIDF)
	for t, tf := range runs(q.terms) {
		w := (1 + float32(math.Log(float64(tf)))) * ix.idf[t]
		v = append(v, termW{t, w})
		n += float64(w) * float64(w)
	}
	scale(v, n)
	return v
}

func scale(v []termW, sq float64) {
	if sq <= 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sq))
	for i := range v {
		v[i].w *= inv
	}
}

// centroid is the unit sum of the vectors of sentences ss, less exclude.
func (ix *index) centroid(ss []int32, exclude int32) []termW {
	var out []termW
	for _, si := range ss {
		if si != exclude {
			out = addVec(out, ix.svec[si])
		}
	}
	var n float64
	for _, x := range out {
		n += float64(x.w) * float64(x.w)
	}
	scale(out, n)
	return out
}

// addVec returns a + b (both sorted by term).
func addVec(a, b []termW) []termW {
	out := make([]termW, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && a[i].t < b[j].t):
			out = append(out, a[i])
			i++
		case i >= len(a) || b[j].t < a[i].t:
			out = append(out, b[j])
			j++
		default:
			out = append(out, termW{a[i].t, a[i].w + b[j].w})
			i++
			j++
		}
	}
	return out
}

// dot is the dot product of two sorted sparse vectors.
func dot(a, b []termW) float64 {
	var s float64
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].t < b[j].t:
			i++
		case b[j].t < a[i].t:
			j++
		default:
			s += float64(a[i].w) * float64(b[j].w)
			i++
			j++
		}
	}
	return s
}

// hasTerm reports whether sorted terms hold t.
func hasTerm(terms []int32, t int32) bool {
	_, ok := slices.BinarySearch(terms, t)
	return ok
}
