package finetune

import (
	"crypto/sha256"
	"encoding/binary"
)

// InValidation reports whether the item with id goes to the validation set
// of a split with seed that sends fraction of the items there: the first 8
// bytes of SHA-256(seed as 8 bytes big-endian, then id), read as a
// big-endian number, fall below fraction of their range. Each item's side
// depends on its id and the seed alone. fraction ≤ 0 sends nothing to
// validation, ≥ 1 everything.
func InValidation(seed uint64, id string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	if fraction >= 1 {
		return true
	}
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(id))
	sum := h.Sum(nil)
	// 53 bits: exactly representable, so u is uniform in [0, 1).
	u := float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
	return u < fraction
}
