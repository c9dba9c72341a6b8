package compare

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCompare is the size: 10,000 items, two sides with
// rescaled scores, 10,000 resamples and 10,000 randomisation rounds
// (go test -run '^$' -bench Compare -benchtime 1x ./compare/).
func BenchmarkCompare(b *testing.B) {
	for _, repeats := range []int{1, 3} {
		b.Run(fmt.Sprintf("items=10000/repeats=%d", repeats), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			in := Input{Sides: []SideInput{
				benchSide("a", rng, 10000, repeats, 0.80),
				benchSide("b", rng, 10000, repeats, 0.81),
			}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compare(b.Context(), in, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchSide(name string, rng *rand.Rand, n, repeats int, mu float64) SideInput {
	si := SideInput{Side: Side{Run: "r", Variation: name}}
	for i := range n {
		id := fmt.Sprintf("item-%05d", i)
		si.Items = append(si.Items, Item{ID: id})
		m := mu + 0.05*rng.NormFloat64()
		for r := range repeats {
			v := m + 0.02*rng.NormFloat64()
			si.Generations = append(si.Generations, Generation{Item: id, Repeat: r, Raw: &PRF{v, v, v}, Rescaled: &PRF{v, v, v}, Attempts: 1})
		}
	}
	return si
}
