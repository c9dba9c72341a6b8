package dataset

import (
	"slices"
	"strings"
)

// isDefaultReference reports whether name is a reference field by default:
// "reference", or "reference" followed by digits.
func isDefaultReference(name string) bool {
	rest, ok := strings.CutPrefix(name, DefaultReferenceField)
	if !ok {
		return false
	}
	for _, c := range []byte(rest) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// compareReferences orders default reference names: "reference" first,
// then by the number after it (reference2 before reference10), then by
// name (reference01 after reference1).
func compareReferences(a, b string) int {
	na := strings.TrimLeft(strings.TrimPrefix(a, DefaultReferenceField), "0")
	nb := strings.TrimLeft(strings.TrimPrefix(b, DefaultReferenceField), "0")
	if (a == DefaultReferenceField) != (b == DefaultReferenceField) {
		if a == DefaultReferenceField {
			return -1
		}
		return 1
	}
	if len(na) != len(nb) {
		return len(na) - len(nb)
	}
	if c := strings.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// defaultReferences picks the default reference names from names, in
// order.
func defaultReferences(names []string) []string {
	var refs []string
	for _, n := range names {
		if isDefaultReference(n) {
			refs = append(refs, n)
		}
	}
	slices.SortFunc(refs, compareReferences)
	return refs
}

// caseTwin returns a name in names that equals want but for case, or "".
func caseTwin(names []string, want string) string {
	for _, n := range names {
		if n != want && strings.EqualFold(n, want) {
			return n
		}
	}
	return ""
}
