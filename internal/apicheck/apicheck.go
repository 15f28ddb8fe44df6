package apicheck

import (
	"fmt"
	"go/types"
	"sort"
	"strings"
)

// IsInternal reports whether an import path names an internal package: one
// with an "internal" element, which only code under its parent may import.
func IsInternal(path string) bool {
	for _, e := range strings.Split(path, "/") {
		if e == "internal" {
			return true
		}
	}
	return false
}

// Leaks lists, sorted, every place where the exported API of pkg names a
// type (or an alias) declared in an internal package: the types of exported
// functions, variables and constants, and of exported types their
// underlying types, exported struct fields and embedded fields, interface
// methods, methods, type parameters and alias targets.
func Leaks(pkg *types.Package) []string {
	w := walker{seen: map[types.Type]bool{}}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		where := pkg.Path() + "." + name
		switch o := obj.(type) {
		case *types.TypeName:
			w.typeName(where, o)
		default:
			w.check(where, obj.Type())
		}
	}
	sort.Strings(w.leaks)
	return w.leaks
}

type walker struct {
	seen  map[types.Type]bool
	leaks []string
}

func (w *walker) report(where string, obj types.Object) {
	w.leaks = append(w.leaks, fmt.Sprintf("%s: names %s.%s", where, obj.Pkg().Path(), obj.Name()))
}

// typeName checks an exported type declaration: its definition, and the
// exported methods of the type and its pointer.
func (w *walker) typeName(where string, tn *types.TypeName) {
	switch t := tn.Type().(type) {
	case *types.Alias:
		w.check(where, t.Rhs())
		return
	case *types.Named:
		if tps := t.TypeParams(); tps != nil {
			for i := range tps.Len() {
				w.check(where+"["+tps.At(i).Obj().Name()+"]", tps.At(i).Constraint())
			}
		}
		w.underlying(where, t.Underlying())
		ms := types.NewMethodSet(types.NewPointer(t))
		for i := range ms.Len() {
			m := ms.At(i).Obj()
			if m.Exported() {
				w.check(where+"."+m.Name(), m.Type())
			}
		}
	default:
		w.underlying(where, t)
	}
}

// underlying checks a type's definition: for structs and interfaces only
// what is exported (unexported fields and methods are not API, but an
// embedded field promotes what its type exports, so it is always checked).
func (w *walker) underlying(where string, t types.Type) {
	switch u := t.(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if f.Exported() || f.Embedded() {
				w.check(where+"."+f.Name(), f.Type())
			}
		}
	case *types.Interface:
		for i := range u.NumEmbeddeds() {
			w.check(where, u.EmbeddedType(i))
		}
		for i := range u.NumExplicitMethods() {
			if m := u.ExplicitMethod(i); m.Exported() {
				w.check(where+"."+m.Name(), m.Type())
			}
		}
	default:
		w.check(where, t)
	}
}

// check reports every internal named type or alias t mentions, without
// entering the definitions of named types (a named type from a public
// package is checked where it is declared).
func (w *walker) check(where string, t types.Type) {
	if t == nil || w.seen[t] {
		return
	}
	switch t := t.(type) {
	case *types.Alias:
		if obj := t.Obj(); obj.Pkg() != nil && IsInternal(obj.Pkg().Path()) {
			w.report(where, obj)
		}
		if args := t.TypeArgs(); args != nil {
			for i := range args.Len() {
				w.check(where, args.At(i))
			}
		}
		w.check(where, t.Rhs())
	case *types.Named:
		if obj := t.Obj(); obj.Pkg() != nil && IsInternal(obj.Pkg().Path()) {
			w.report(where, obj)
		}
		if args := t.TypeArgs(); args != nil {
			for i := range args.Len() {
				w.check(where, args.At(i))
			}
		}
	case *types.Pointer:
		w.check(where, t.Elem())
	case *types.Slice:
		w.check(where, t.Elem())
	case *types.Array:
		w.check(where, t.Elem())
	case *types.Chan:
		w.check(where, t.Elem())
	case *types.Map:
		w.check(where, t.Key())
		w.check(where, t.Elem())
	case *types.Signature:
		if tps := t.TypeParams(); tps != nil {
			for i := range tps.Len() {
				w.check(where, tps.At(i).Constraint())
			}
		}
		w.check(where, t.Params())
		w.check(where, t.Results())
	case *types.Tuple:
		for i := range t.Len() {
			w.check(where, t.At(i).Type())
		}
	case *types.Struct, *types.Interface:
		w.seen[t] = true // anonymous: recursion through itself ends here
		w.underlying(where, t)
	case *types.TypeParam:
		w.check(where, t.Constraint())
	case *types.Union:
		for i := range t.Len() {
			w.check(where, t.Term(i).Type())
		}
	}
}

// MutableVars lists, sorted, the exported package-level variables of pkg
// other than error sentinels (an exported variable named Err… whose type
// implements error): anything else exported as a variable is state any
// importer can change under every other importer, which the project's
// rules forbid (constants or functions instead).
func MutableVars(pkg *types.Package) []string {
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	var out []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		v, ok := scope.Lookup(name).(*types.Var)
		if !ok || !v.Exported() {
			continue
		}
		if strings.HasPrefix(name, "Err") && types.Implements(v.Type(), errType) {
			continue
		}
		out = append(out, pkg.Path()+"."+name)
	}
	return out
}
