package guard

// A fast path for rule conditions.
//
// expr's VM fetches every feature through reflection and boxes every value
// in an interface; with ~40 rules per event that costs microseconds. Rule
// conditions are small, typed and side-effect free, so compileFast turns the
// checked (and optimised) AST of a compiled program into a tree of typed Go
// closures that read Env fields directly by their byte offset and never
// allocate. It handles the subset of expr that rules actually use and gives
// up (ok=false) on anything else, so the caller keeps the VM for that rule.
//
// Every construct accepted here is evaluated with expr's own run-time
// semantics (see vm/runtime in expr v1.17): int op int stays int and wraps
// on overflow; a comparison or arithmetic mixing int and float64 converts
// the int to float64; "/" always divides in float64 (x/0 is ±Inf or NaN);
// "%" is only accepted with a non-zero constant divisor, since a zero
// divisor is a run-time error in the VM; len counts runes; min and max keep
// the first of equal (or unordered) values, like expr's minMax, and with
// mixed int and float arguments return whichever argument won, int or
// float (the fkNum kind carries such values); "in" with a constant array
// uses expr's Equal (an int needle matches an equal float element and vice
// versa, other kinds never match). None of the accepted constructs can fail
// at run time, so the fast path never has to report an error where the VM
// would; where the VM would fail (an int-typed == on a value that may be a
// float, "%" by a variable) the rule stays on the VM.
//
// Field reads use unsafe.Add with offsets taken from reflect on Env itself
// and the exact field types checked, which is the same memory access as the
// selector e.Customer.OutCount1h; it measured faster than a table of typed
// accessor closures (one indirect call fewer per comparison) and needs no
// table to keep in step with env.go.

import (
	"math"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// compileFast compiles a program checked against Env into a closure that
// evaluates it on *Env without reflection or allocation. ok is false when
// the program uses something the fast path does not support (or anything it
// is unsure of); the caller then keeps running the program on the VM.
func compileFast(prog *vm.Program) (fn func(*Env) bool, ok bool) {
	if prog == nil || prog.Node() == nil {
		return nil, false
	}
	defer func() {
		// Unexpected AST shapes must never break loading a pack: fall back.
		if r := recover(); r != nil {
			fn, ok = nil, false
		}
	}()
	x, ok := fastNode(prog.Node())
	if !ok || x.kind != fkBool {
		return nil, false
	}
	return x.boolFn(), true
}

type fastKind uint8

const (
	fkInvalid fastKind = iota
	fkBool
	fkInt
	fkFloat
	fkString
	// fkNum is a number whose Go type, int or float64, is only known at
	// run time: min/max over mixed arguments, a ternary with an int and a
	// float branch, and arithmetic on those. It is carried as a fastNum
	// and follows expr's dynamic rules exactly.
	fkNum
)

// fastNum is a number of kind fkNum: an int when isInt, else a float64.
type fastNum struct {
	i     int
	f     float64
	isInt bool
}

func (n fastNum) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// fastNumLess is expr's runtime.Less on two numbers: int < int compares
// ints, anything else compares float64s.
func fastNumLess(a, b fastNum) bool {
	if a.isInt && b.isInt {
		return a.i < b.i
	}
	return a.float() < b.float()
}

func fastIsNum(k fastKind) bool { return k == fkInt || k == fkFloat || k == fkNum }

var (
	fastBoolType   = reflect.TypeOf(false)
	fastIntType    = reflect.TypeOf(0)
	fastFloatType  = reflect.TypeOf(0.0)
	fastStringType = reflect.TypeOf("")
)

// fastKindOf maps the exact Go types the fast path handles to their kind.
// Named types (type X string) are refused: expr treats them differently.
func fastKindOf(t reflect.Type) fastKind {
	switch t {
	case fastBoolType:
		return fkBool
	case fastIntType:
		return fkInt
	case fastFloatType:
		return fkFloat
	case fastStringType:
		return fkString
	}
	return fkInvalid
}

// fastExpr is a compiled sub-expression: exactly one of b, i, f, s is set,
// according to kind. A constant also carries its value, and a plain field
// read its offset, so that parents can specialise.
type fastExpr struct {
	kind fastKind
	b    func(*Env) bool
	i    func(*Env) int
	f    func(*Env) float64
	s    func(*Env) string
	d    func(*Env) fastNum

	isConst bool
	cb      bool
	ci      int
	cf      float64
	cs      string

	isField bool
	off     uintptr
}

func (x fastExpr) boolFn() func(*Env) bool { return x.b }

// numFn returns a number of any kind as a fastNum.
func (x fastExpr) numFn() func(*Env) fastNum {
	switch x.kind {
	case fkNum:
		return x.d
	case fkInt:
		i := x.i
		return func(e *Env) fastNum { return fastNum{i: i(e), isInt: true} }
	case fkFloat:
		f := x.f
		return func(e *Env) fastNum { return fastNum{f: f(e)} }
	}
	return nil
}

// floatFn returns x as float64, converting an int like expr does.
func (x fastExpr) floatFn() func(*Env) float64 {
	if x.kind == fkFloat {
		return x.f
	}
	if x.kind == fkNum {
		d := x.d
		return func(e *Env) float64 { return d(e).float() }
	}
	if x.isField {
		off := x.off
		return func(e *Env) float64 { return float64(*(*int)(unsafe.Add(unsafe.Pointer(e), off))) }
	}
	i := x.i
	return func(e *Env) float64 { return float64(i(e)) }
}

// constFloat is the value of a numeric constant as float64.
func (x fastExpr) constFloat() float64 {
	if x.kind == fkInt {
		return float64(x.ci)
	}
	return x.cf
}

func fastConstBool(v bool) fastExpr {
	return fastExpr{kind: fkBool, isConst: true, cb: v, b: func(*Env) bool { return v }}
}

func fastConstInt(v int) fastExpr {
	return fastExpr{kind: fkInt, isConst: true, ci: v, i: func(*Env) int { return v }}
}

func fastConstFloat(v float64) fastExpr {
	return fastExpr{kind: fkFloat, isConst: true, cf: v, f: func(*Env) float64 { return v }}
}

func fastConstString(v string) fastExpr {
	return fastExpr{kind: fkString, isConst: true, cs: v, s: func(*Env) string { return v }}
}

// fastField reads the field at byte offset off of an Env. The offset and
// the type come from reflect on Env itself (see fastPath), so the read is
// the same as the corresponding selector expression.
func fastField(off uintptr, k fastKind) fastExpr {
	x := fastExpr{kind: k, isField: true, off: off}
	switch k {
	case fkBool:
		x.b = func(e *Env) bool { return *(*bool)(unsafe.Add(unsafe.Pointer(e), off)) }
	case fkInt:
		x.i = func(e *Env) int { return *(*int)(unsafe.Add(unsafe.Pointer(e), off)) }
	case fkFloat:
		x.f = func(e *Env) float64 { return *(*float64)(unsafe.Add(unsafe.Pointer(e), off)) }
	case fkString:
		x.s = func(e *Env) string { return *(*string)(unsafe.Add(unsafe.Pointer(e), off)) }
	}
	return x
}

// fastNode compiles a node, checking that the kind it computes agrees with
// the type the checker gave the node.
func fastNode(n ast.Node) (fastExpr, bool) {
	if n == nil {
		return fastExpr{}, false
	}
	x, ok := fastNode1(n)
	if !ok || x.kind == fkInvalid {
		return fastExpr{}, false
	}
	t := n.Type()
	if x.kind == fkNum {
		// The checker types such a node as one of its operands (min,
		// max, abs, arithmetic) or as unknown (a ternary).
		if k := fastKindOf(t); k != fkInt && k != fkFloat && t.Kind() != reflect.Interface {
			return fastExpr{}, false
		}
		return x, true
	}
	if fastKindOf(t) != x.kind {
		return fastExpr{}, false
	}
	return x, true
}

func fastNode1(n ast.Node) (fastExpr, bool) {
	switch n := n.(type) {
	case *ast.BoolNode:
		return fastConstBool(n.Value), true
	case *ast.IntegerNode:
		// The checker may retype an integer literal as float64.
		switch fastKindOf(n.Type()) {
		case fkInt:
			return fastConstInt(n.Value), true
		case fkFloat:
			return fastConstFloat(float64(n.Value)), true
		}
		return fastExpr{}, false
	case *ast.FloatNode:
		return fastConstFloat(n.Value), true
	case *ast.StringNode:
		return fastConstString(n.Value), true
	case *ast.ChainNode:
		// Env has no pointers, maps or interfaces, so an optional chain
		// over its fields never meets nil: it is the plain chain.
		return fastNode(n.Node)
	case *ast.IdentifierNode, *ast.MemberNode:
		off, t, ok := fastPath(n)
		if !ok {
			return fastExpr{}, false
		}
		k := fastKindOf(t)
		if k == fkInvalid {
			return fastExpr{}, false
		}
		return fastField(off, k), true
	case *ast.UnaryNode:
		return fastUnary(n)
	case *ast.BinaryNode:
		return fastBinary(n)
	case *ast.ConditionalNode:
		return fastConditional(n)
	case *ast.BuiltinNode:
		return fastBuiltin(n)
	}
	return fastExpr{}, false
}

// fastPath resolves $env, an Env field or a chain of struct fields below
// one to its byte offset within Env and its type.
func fastPath(n ast.Node) (uintptr, reflect.Type, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			return 0, envType, true
		}
		f, ok := fastStructField(envType, n.Value)
		if !ok {
			return 0, nil, false
		}
		return f.Offset, f.Type, true
	case *ast.MemberNode:
		if n.Method {
			return 0, nil, false
		}
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return 0, nil, false
		}
		off, t, ok := fastPath(n.Node)
		if !ok || t.Kind() != reflect.Struct {
			return 0, nil, false
		}
		f, ok := fastStructField(t, prop.Value)
		if !ok {
			return 0, nil, false
		}
		return off + f.Offset, f.Type, true
	}
	return 0, nil, false
}

// fastStructField finds the field expr calls name: the one whose expr tag
// is name, or, untagged, whose Go name is. Structs with embedded fields are
// refused (expr flattens them; Env has none).
func fastStructField(t reflect.Type, name string) (reflect.StructField, bool) {
	var found reflect.StructField
	n := 0
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			return reflect.StructField{}, false
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("expr")
		if tag == "-" {
			continue
		}
		fname := f.Name
		if tag != "" {
			fname = tag
		}
		if fname == name {
			found = f
			n++
		}
	}
	return found, n == 1
}

func fastUnary(n *ast.UnaryNode) (fastExpr, bool) {
	x, ok := fastNode(n.Node)
	if !ok {
		return fastExpr{}, false
	}
	switch n.Operator {
	case "!", "not":
		if x.kind != fkBool {
			return fastExpr{}, false
		}
		if x.isField {
			off := x.off
			return fastExpr{kind: fkBool, b: func(e *Env) bool { return !*(*bool)(unsafe.Add(unsafe.Pointer(e), off)) }}, true
		}
		f := x.b
		return fastExpr{kind: fkBool, b: func(e *Env) bool { return !f(e) }}, true
	case "+":
		if !fastIsNum(x.kind) {
			return fastExpr{}, false
		}
		return x, true
	case "-":
		switch x.kind {
		case fkNum:
			f := x.d
			return fastExpr{kind: fkNum, d: func(e *Env) fastNum {
				v := f(e)
				v.i, v.f = -v.i, -v.f
				return v
			}}, true
		case fkInt:
			f := x.i
			return fastExpr{kind: fkInt, i: func(e *Env) int { return -f(e) }}, true
		case fkFloat:
			f := x.f
			return fastExpr{kind: fkFloat, f: func(e *Env) float64 { return -f(e) }}, true
		}
	}
	return fastExpr{}, false
}

func fastBinary(n *ast.BinaryNode) (fastExpr, bool) {
	switch n.Operator {
	case "and", "&&", "or", "||":
		return fastLogic(n)
	case "in":
		return fastIn(n)
	case "matches":
		return fastMatches(n)
	}
	l, ok := fastNode(n.Left)
	if !ok {
		return fastExpr{}, false
	}
	r, ok := fastNode(n.Right)
	if !ok {
		return fastExpr{}, false
	}
	switch n.Operator {
	case "==", "!=", "<", "<=", ">", ">=":
		if (n.Operator == "==" || n.Operator == "!=") && (l.kind == fkNum || r.kind == fkNum) &&
			n.Left.Type().Kind() == reflect.Int && n.Right.Type().Kind() == reflect.Int {
			// The checker calls both sides int, so the VM compares them
			// with OpEqualInt, which fails on a float: keep the VM.
			return fastExpr{}, false
		}
		return fastCompare(n.Operator, l, r)
	case "+", "-", "*", "/", "%", "**", "^":
		return fastArith(n.Operator, l, r)
	case "contains", "startsWith", "endsWith":
		return fastStringOp(n.Operator, l, r)
	}
	return fastExpr{}, false
}

// fastLogic flattens a chain of the same short-circuit operator.
func fastLogic(n *ast.BinaryNode) (fastExpr, bool) {
	isAnd := n.Operator == "and" || n.Operator == "&&"
	var terms []ast.Node
	var collect func(ast.Node)
	collect = func(m ast.Node) {
		if b, ok := m.(*ast.BinaryNode); ok {
			switch b.Operator {
			case "and", "&&":
				if isAnd {
					collect(b.Left)
					collect(b.Right)
					return
				}
			case "or", "||":
				if !isAnd {
					collect(b.Left)
					collect(b.Right)
					return
				}
			}
		}
		terms = append(terms, m)
	}
	collect(n.Left)
	collect(n.Right)
	fs := make([]func(*Env) bool, len(terms))
	for i, t := range terms {
		x, ok := fastNode(t)
		if !ok || x.kind != fkBool {
			return fastExpr{}, false
		}
		fs[i] = x.b
	}
	var f func(*Env) bool
	if isAnd {
		switch len(fs) {
		case 2:
			a, b := fs[0], fs[1]
			f = func(e *Env) bool { return a(e) && b(e) }
		case 3:
			a, b, c := fs[0], fs[1], fs[2]
			f = func(e *Env) bool { return a(e) && b(e) && c(e) }
		case 4:
			a, b, c, d := fs[0], fs[1], fs[2], fs[3]
			f = func(e *Env) bool { return a(e) && b(e) && c(e) && d(e) }
		default:
			f = func(e *Env) bool {
				for _, g := range fs {
					if !g(e) {
						return false
					}
				}
				return true
			}
		}
	} else {
		switch len(fs) {
		case 2:
			a, b := fs[0], fs[1]
			f = func(e *Env) bool { return a(e) || b(e) }
		case 3:
			a, b, c := fs[0], fs[1], fs[2]
			f = func(e *Env) bool { return a(e) || b(e) || c(e) }
		case 4:
			a, b, c, d := fs[0], fs[1], fs[2], fs[3]
			f = func(e *Env) bool { return a(e) || b(e) || c(e) || d(e) }
		default:
			f = func(e *Env) bool {
				for _, g := range fs {
					if g(e) {
						return true
					}
				}
				return false
			}
		}
	}
	return fastExpr{kind: fkBool, b: f}, true
}

type fastOrdered interface{ ~int | ~float64 | ~string }

// fastCmpFieldConst compares a field with a constant in one closure.
func fastCmpFieldConst[T fastOrdered](op string, off uintptr, c T) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) == c }
	case "!=":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) != c }
	case "<":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) < c }
	case "<=":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) <= c }
	case ">":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) > c }
	case ">=":
		return func(e *Env) bool { return *(*T)(unsafe.Add(unsafe.Pointer(e), off)) >= c }
	}
	return nil
}

// fastCmpConstField compares a constant with a field (c op field).
func fastCmpConstField[T fastOrdered](op string, c T, off uintptr) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool { return c == *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	case "!=":
		return func(e *Env) bool { return c != *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	case "<":
		return func(e *Env) bool { return c < *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	case "<=":
		return func(e *Env) bool { return c <= *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	case ">":
		return func(e *Env) bool { return c > *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	case ">=":
		return func(e *Env) bool { return c >= *(*T)(unsafe.Add(unsafe.Pointer(e), off)) }
	}
	return nil
}

// fastCmpFieldField compares two fields of the same type.
func fastCmpFieldField[T fastOrdered](op string, a, b uintptr) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) == *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	case "!=":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) != *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	case "<":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) < *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	case "<=":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) <= *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	case ">":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) > *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	case ">=":
		return func(e *Env) bool {
			return *(*T)(unsafe.Add(unsafe.Pointer(e), a)) >= *(*T)(unsafe.Add(unsafe.Pointer(e), b))
		}
	}
	return nil
}

// fastCmpExprConst compares a computed value with a constant.
func fastCmpExprConst[T fastOrdered](op string, f func(*Env) T, c T) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool { return f(e) == c }
	case "!=":
		return func(e *Env) bool { return f(e) != c }
	case "<":
		return func(e *Env) bool { return f(e) < c }
	case "<=":
		return func(e *Env) bool { return f(e) <= c }
	case ">":
		return func(e *Env) bool { return f(e) > c }
	case ">=":
		return func(e *Env) bool { return f(e) >= c }
	}
	return nil
}

// fastCmpExpr compares two computed values.
func fastCmpExpr[T fastOrdered](op string, a, b func(*Env) T) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool { return a(e) == b(e) }
	case "!=":
		return func(e *Env) bool { return a(e) != b(e) }
	case "<":
		return func(e *Env) bool { return a(e) < b(e) }
	case "<=":
		return func(e *Env) bool { return a(e) <= b(e) }
	case ">":
		return func(e *Env) bool { return a(e) > b(e) }
	case ">=":
		return func(e *Env) bool { return a(e) >= b(e) }
	}
	return nil
}

// fastFlip mirrors a comparison so that c op x becomes x flip(op) c.
func fastFlip(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

// fastCmp compares two values of the same kind T, specialising fields and
// constants; fn extracts the closure and cv the constant of kind T. It
// returns nil for two constants, left to the general case.
func fastCmp[T fastOrdered](op string, l, r fastExpr, fn func(fastExpr) func(*Env) T, cv func(fastExpr) T) func(*Env) bool {
	switch {
	case l.isConst && r.isConst:
		return nil // left to the general case; expr folds most of these
	case l.isField && r.isConst:
		return fastCmpFieldConst(op, l.off, cv(r))
	case l.isConst && r.isField:
		return fastCmpConstField(op, cv(l), r.off)
	case l.isField && r.isField:
		return fastCmpFieldField[T](op, l.off, r.off)
	case r.isConst:
		return fastCmpExprConst(op, fn(l), cv(r))
	case l.isConst:
		return fastCmpExprConst(fastFlip(op), fn(r), cv(l))
	}
	return nil
}

func fastCompare(op string, l, r fastExpr) (fastExpr, bool) {
	var f func(*Env) bool
	switch {
	case l.kind == fkBool && r.kind == fkBool:
		a, b := l.b, r.b
		switch op {
		case "==":
			f = func(e *Env) bool { return a(e) == b(e) }
		case "!=":
			f = func(e *Env) bool { return a(e) != b(e) }
		default:
			return fastExpr{}, false
		}
	case l.kind == fkString && r.kind == fkString:
		f = fastCmp(op, l, r, func(x fastExpr) func(*Env) string { return x.s }, func(x fastExpr) string { return x.cs })
		if f == nil {
			f = fastCmpExpr(op, l.s, r.s)
		}
	case (l.kind == fkNum || r.kind == fkNum) && fastIsNum(l.kind) && fastIsNum(r.kind):
		f = fastCmpNum(op, l.numFn(), r.numFn())
	case l.kind == fkInt && r.kind == fkInt:
		f = fastCmp(op, l, r, func(x fastExpr) func(*Env) int { return x.i }, func(x fastExpr) int { return x.ci })
		if f == nil {
			f = fastCmpExpr(op, l.i, r.i)
		}
	case (l.kind == fkInt || l.kind == fkFloat) && (r.kind == fkInt || r.kind == fkFloat):
		// Mixed or float: expr converts the int side to float64. A float
		// field against an int constant compares with the converted
		// constant; an int field against a float constant is converted
		// at each read.
		toF := func(x fastExpr) fastExpr {
			if x.kind == fkFloat {
				return x
			}
			if x.isConst {
				return fastConstFloat(float64(x.ci))
			}
			return fastExpr{kind: fkFloat, f: x.floatFn()}
		}
		lf, rf := toF(l), toF(r)
		f = fastCmp(op, lf, rf, func(x fastExpr) func(*Env) float64 { return x.f }, func(x fastExpr) float64 { return x.cf })
		if f == nil {
			f = fastCmpExpr(op, lf.f, rf.f)
		}
	}
	if f == nil {
		return fastExpr{}, false
	}
	return fastExpr{kind: fkBool, b: f}, true
}

// fastCmpNum compares numbers of run-time type like runtime.Less and
// runtime.Equal: as ints when both are ints, else as float64s.
func fastCmpNum(op string, a, b func(*Env) fastNum) func(*Env) bool {
	switch op {
	case "==":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i == y.i
			}
			return x.float() == y.float()
		}
	case "!=":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i != y.i
			}
			return x.float() != y.float()
		}
	case "<":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i < y.i
			}
			return x.float() < y.float()
		}
	case "<=":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i <= y.i
			}
			return x.float() <= y.float()
		}
	case ">":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i > y.i
			}
			return x.float() > y.float()
		}
	case ">=":
		return func(e *Env) bool {
			x, y := a(e), b(e)
			if x.isInt && y.isInt {
				return x.i >= y.i
			}
			return x.float() >= y.float()
		}
	}
	return nil
}

func fastArith(op string, l, r fastExpr) (fastExpr, bool) {
	num := func(x fastExpr) bool { return fastIsNum(x.kind) }
	switch op {
	case "+":
		if l.kind == fkString && r.kind == fkString {
			// Concatenation allocates, as it does in the VM; rules
			// rarely build strings.
			a, b := l.s, r.s
			return fastExpr{kind: fkString, s: func(e *Env) string { return a(e) + b(e) }}, true
		}
		fallthrough
	case "-", "*":
		if !num(l) || !num(r) {
			return fastExpr{}, false
		}
		if l.kind == fkNum || r.kind == fkNum {
			// int op int stays int (and wraps), anything else is float64.
			a, b := l.numFn(), r.numFn()
			var f func(*Env) fastNum
			switch op {
			case "+":
				f = func(e *Env) fastNum {
					x, y := a(e), b(e)
					if x.isInt && y.isInt {
						return fastNum{i: x.i + y.i, isInt: true}
					}
					return fastNum{f: x.float() + y.float()}
				}
			case "-":
				f = func(e *Env) fastNum {
					x, y := a(e), b(e)
					if x.isInt && y.isInt {
						return fastNum{i: x.i - y.i, isInt: true}
					}
					return fastNum{f: x.float() - y.float()}
				}
			case "*":
				f = func(e *Env) fastNum {
					x, y := a(e), b(e)
					if x.isInt && y.isInt {
						return fastNum{i: x.i * y.i, isInt: true}
					}
					return fastNum{f: x.float() * y.float()}
				}
			}
			return fastExpr{kind: fkNum, d: f}, true
		}
		if l.kind == fkInt && r.kind == fkInt {
			a, b := l.i, r.i
			var f func(*Env) int
			switch op {
			case "+":
				f = func(e *Env) int { return a(e) + b(e) }
			case "-":
				f = func(e *Env) int { return a(e) - b(e) }
			case "*":
				f = func(e *Env) int { return a(e) * b(e) }
			}
			return fastExpr{kind: fkInt, i: f}, true
		}
		a, b := l.floatFn(), r.floatFn()
		var f func(*Env) float64
		switch op {
		case "+":
			f = func(e *Env) float64 { return a(e) + b(e) }
		case "-":
			f = func(e *Env) float64 { return a(e) - b(e) }
		case "*":
			f = func(e *Env) float64 { return a(e) * b(e) }
		}
		return fastExpr{kind: fkFloat, f: f}, true
	case "/":
		if !num(l) || !num(r) {
			return fastExpr{}, false
		}
		a := l.floatFn()
		if r.isConst {
			c := r.constFloat()
			return fastExpr{kind: fkFloat, f: func(e *Env) float64 { return a(e) / c }}, true
		}
		b := r.floatFn()
		return fastExpr{kind: fkFloat, f: func(e *Env) float64 { return a(e) / b(e) }}, true
	case "%":
		// A zero divisor is a run-time error in the VM: only a non-zero
		// constant divisor is safe to run here.
		if l.kind != fkInt || r.kind != fkInt || !r.isConst || r.ci == 0 {
			return fastExpr{}, false
		}
		a, c := l.i, r.ci
		return fastExpr{kind: fkInt, i: func(e *Env) int { return a(e) % c }}, true
	case "**", "^":
		if !num(l) || !num(r) {
			return fastExpr{}, false
		}
		a, b := l.floatFn(), r.floatFn()
		return fastExpr{kind: fkFloat, f: func(e *Env) float64 { return math.Pow(a(e), b(e)) }}, true
	}
	return fastExpr{}, false
}

func fastStringOp(op string, l, r fastExpr) (fastExpr, bool) {
	if l.kind != fkString || r.kind != fkString {
		return fastExpr{}, false
	}
	a := l.s
	var f func(*Env) bool
	if r.isConst {
		c := r.cs
		switch op {
		case "contains":
			f = func(e *Env) bool { return strings.Contains(a(e), c) }
		case "startsWith":
			f = func(e *Env) bool { return strings.HasPrefix(a(e), c) }
		case "endsWith":
			f = func(e *Env) bool { return strings.HasSuffix(a(e), c) }
		}
	} else {
		b := r.s
		switch op {
		case "contains":
			f = func(e *Env) bool { return strings.Contains(a(e), b(e)) }
		case "startsWith":
			f = func(e *Env) bool { return strings.HasPrefix(a(e), b(e)) }
		case "endsWith":
			f = func(e *Env) bool { return strings.HasSuffix(a(e), b(e)) }
		}
	}
	if f == nil {
		return fastExpr{}, false
	}
	return fastExpr{kind: fkBool, b: f}, true
}

func fastMatches(n *ast.BinaryNode) (fastExpr, bool) {
	// Only a literal pattern: expr compiles it once too, and a bad dynamic
	// pattern is a run-time error in the VM.
	pat, ok := n.Right.(*ast.StringNode)
	if !ok {
		return fastExpr{}, false
	}
	re, err := regexp.Compile(pat.Value)
	if err != nil {
		return fastExpr{}, false
	}
	l, ok := fastNode(n.Left)
	if !ok || l.kind != fkString {
		return fastExpr{}, false
	}
	a := l.s
	return fastExpr{kind: fkBool, b: func(e *Env) bool { return re.MatchString(a(e)) }}, true
}

// fastSmallSet is the largest constant string array searched linearly
// rather than through a map.
const fastSmallSet = 8

func fastIn(n *ast.BinaryNode) (fastExpr, bool) {
	l, ok := fastNode(n.Left)
	if !ok {
		return fastExpr{}, false
	}
	var strs []string
	var ints []int
	var floats []float64
	var bools []bool
	switch r := n.Right.(type) {
	case *ast.ConstantNode:
		// The optimiser turns [..] of literals into a set or a []any.
		switch v := r.Value.(type) {
		case map[string]struct{}:
			if l.kind != fkString {
				return fastExpr{}, false
			}
			for k := range v {
				strs = append(strs, k)
			}
		case map[int]struct{}:
			if l.kind != fkInt {
				return fastExpr{}, false
			}
			for k := range v {
				ints = append(ints, k)
			}
		case []any:
			for _, el := range v {
				switch el := el.(type) {
				case string:
					strs = append(strs, el)
				case int:
					ints = append(ints, el)
				case float64:
					floats = append(floats, el)
				case bool:
					bools = append(bools, el)
				default:
					return fastExpr{}, false
				}
			}
		default:
			return fastExpr{}, false
		}
	case *ast.ArrayNode:
		if len(r.Nodes) != 0 {
			return fastExpr{}, false // elements that are not literals
		}
	default:
		return fastExpr{}, false
	}

	// expr's In compares each element with Equal(element, needle): equal
	// strings, equal bools, and numbers equal after converting an int to
	// float64 when the other side is a float. Other kinds never match.
	var f func(*Env) bool
	switch l.kind {
	case fkString:
		f = fastInStrings(l, strs)
	case fkBool:
		hasT, hasF := false, false
		for _, b := range bools {
			hasT = hasT || b
			hasF = hasF || !b
		}
		a := l.b
		switch {
		case hasT && hasF:
			f = func(*Env) bool { return true }
		case hasT:
			f = a
		case hasF:
			f = func(e *Env) bool { return !a(e) }
		default:
			f = func(*Env) bool { return false }
		}
	case fkInt:
		set := make(map[int]struct{}, len(ints))
		for _, k := range ints {
			set[k] = struct{}{}
		}
		fset := make(map[float64]struct{}, len(floats))
		for _, k := range floats {
			fset[k] = struct{}{}
		}
		a := l.i
		switch {
		case len(set) == 0 && len(fset) == 0:
			f = func(*Env) bool { return false }
		case len(fset) == 0:
			f = func(e *Env) bool { _, ok := set[a(e)]; return ok }
		default:
			f = func(e *Env) bool {
				x := a(e)
				if _, ok := set[x]; ok {
					return true
				}
				_, ok := fset[float64(x)]
				return ok
			}
		}
	case fkFloat:
		// An int element k matches when float64(k) == needle.
		fset := make(map[float64]struct{}, len(ints)+len(floats))
		for _, k := range ints {
			fset[float64(k)] = struct{}{}
		}
		for _, k := range floats {
			fset[k] = struct{}{}
		}
		a := l.f
		if len(fset) == 0 {
			f = func(*Env) bool { return false }
		} else {
			f = func(e *Env) bool { _, ok := fset[a(e)]; return ok }
		}
	}
	if f == nil {
		return fastExpr{}, false
	}
	return fastExpr{kind: fkBool, b: f}, true
}

func fastInStrings(l fastExpr, strs []string) func(*Env) bool {
	seen := map[string]bool{}
	var uniq []string
	for _, s := range strs {
		if !seen[s] {
			seen[s] = true
			uniq = append(uniq, s)
		}
	}
	if len(uniq) == 0 {
		return func(*Env) bool { return false }
	}
	if len(uniq) > fastSmallSet {
		set := make(map[string]struct{}, len(uniq))
		for _, s := range uniq {
			set[s] = struct{}{}
		}
		if l.isField {
			off := l.off
			return func(e *Env) bool {
				_, ok := set[*(*string)(unsafe.Add(unsafe.Pointer(e), off))]
				return ok
			}
		}
		a := l.s
		return func(e *Env) bool { _, ok := set[a(e)]; return ok }
	}
	if l.isField {
		off := l.off
		return func(e *Env) bool {
			x := *(*string)(unsafe.Add(unsafe.Pointer(e), off))
			for _, s := range uniq {
				if x == s {
					return true
				}
			}
			return false
		}
	}
	a := l.s
	return func(e *Env) bool {
		x := a(e)
		for _, s := range uniq {
			if x == s {
				return true
			}
		}
		return false
	}
}

func fastConditional(n *ast.ConditionalNode) (fastExpr, bool) {
	c, ok := fastNode(n.Cond)
	if !ok || c.kind != fkBool {
		return fastExpr{}, false
	}
	a, ok := fastNode(n.Exp1)
	if !ok {
		return fastExpr{}, false
	}
	b, ok := fastNode(n.Exp2)
	if !ok {
		return fastExpr{}, false
	}
	cf := c.b
	if a.kind != b.kind {
		// An int and a float branch give a number whose type is only
		// known at run time; other mixes are left to the VM.
		if !fastIsNum(a.kind) || !fastIsNum(b.kind) {
			return fastExpr{}, false
		}
		x, y := a.numFn(), b.numFn()
		return fastExpr{kind: fkNum, d: func(e *Env) fastNum {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	}
	switch a.kind {
	case fkNum:
		x, y := a.d, b.d
		return fastExpr{kind: fkNum, d: func(e *Env) fastNum {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	case fkBool:
		x, y := a.b, b.b
		return fastExpr{kind: fkBool, b: func(e *Env) bool {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	case fkInt:
		x, y := a.i, b.i
		return fastExpr{kind: fkInt, i: func(e *Env) int {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	case fkFloat:
		x, y := a.f, b.f
		return fastExpr{kind: fkFloat, f: func(e *Env) float64 {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	case fkString:
		x, y := a.s, b.s
		return fastExpr{kind: fkString, s: func(e *Env) string {
			if cf(e) {
				return x(e)
			}
			return y(e)
		}}, true
	}
	return fastExpr{}, false
}

func fastBuiltin(n *ast.BuiltinNode) (fastExpr, bool) {
	if n.Map != nil || n.Threshold != nil || len(n.Arguments) == 0 {
		return fastExpr{}, false
	}
	args := make([]fastExpr, len(n.Arguments))
	for i, a := range n.Arguments {
		x, ok := fastNode(a)
		if !ok {
			return fastExpr{}, false
		}
		args[i] = x
	}
	switch n.Name {
	case "len":
		if len(args) != 1 || args[0].kind != fkString {
			return fastExpr{}, false
		}
		a := args[0].s
		return fastExpr{kind: fkInt, i: func(e *Env) int { return utf8.RuneCountInString(a(e)) }}, true
	case "abs":
		if len(args) != 1 {
			return fastExpr{}, false
		}
		switch args[0].kind {
		case fkNum:
			a := args[0].d
			return fastExpr{kind: fkNum, d: func(e *Env) fastNum {
				x := a(e)
				if x.isInt && x.i < 0 {
					x.i = -x.i
				} else if !x.isInt && x.f < 0 {
					x.f = -x.f
				}
				return x
			}}, true
		case fkInt:
			a := args[0].i
			return fastExpr{kind: fkInt, i: func(e *Env) int {
				if x := a(e); x < 0 {
					return -x
				} else {
					return x
				}
			}}, true
		case fkFloat:
			a := args[0].f
			return fastExpr{kind: fkFloat, f: func(e *Env) float64 {
				if x := a(e); x < 0 {
					return -x
				} else {
					return x
				}
			}}, true
		}
	case "min", "max":
		// expr's minMax keeps the running value v and replaces it with
		// the next x when v > x (min) or v < x (max), keeping x's type:
		// with mixed int and float arguments the result is an fkNum.
		isMax := n.Name == "max"
		k := args[0].kind
		for _, a := range args {
			if !fastIsNum(a.kind) {
				return fastExpr{}, false
			}
			if a.kind != k {
				k = fkNum
			}
		}
		switch k {
		case fkNum:
			fs := make([]func(*Env) fastNum, len(args))
			for i, a := range args {
				fs[i] = a.numFn()
			}
			return fastExpr{kind: fkNum, d: func(e *Env) fastNum {
				v := fs[0](e)
				for _, g := range fs[1:] {
					x := g(e)
					if isMax && fastNumLess(v, x) || !isMax && fastNumLess(x, v) {
						v = x
					}
				}
				return v
			}}, true
		case fkInt:
			fs := make([]func(*Env) int, len(args))
			for i, a := range args {
				fs[i] = a.i
			}
			return fastExpr{kind: fkInt, i: minMax(fs, isMax)}, true
		case fkFloat:
			fs := make([]func(*Env) float64, len(args))
			for i, a := range args {
				fs[i] = a.f
			}
			return fastExpr{kind: fkFloat, f: minMax(fs, isMax)}, true
		}
	}
	return fastExpr{}, false
}

// minMax builds min or max over closures of one ordered type, with a
// two-argument fast path (the common case). Comparisons are expr's: a NaN
// never replaces the running value.
func minMax[T int | float64](fs []func(*Env) T, isMax bool) func(*Env) T {
	if len(fs) == 2 {
		a, b := fs[0], fs[1]
		if isMax {
			return func(e *Env) T {
				v, x := a(e), b(e)
				if v < x {
					v = x
				}
				return v
			}
		}
		return func(e *Env) T {
			v, x := a(e), b(e)
			if v > x {
				v = x
			}
			return v
		}
	}
	return func(e *Env) T {
		v := fs[0](e)
		for _, g := range fs[1:] {
			x := g(e)
			if isMax && v < x || !isMax && v > x {
				v = x
			}
		}
		return v
	}
}
