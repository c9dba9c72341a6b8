package compare

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// sample is one side's scores of the compared items, laid out for
// resampling: item i's scored repeats are the positions off[i] to
// off[i+1]-1, and the value of series m at position pos is vals[pos*ns+m].
// The series are P, R, F raw, then (when there are any) P, R, F rescaled.
type sample struct {
	off  []int
	vals []float64
}

// resampler draws paired resamples of the compared items: one set of item
// indices per resample for every side, so the sides' differences are
// paired.
type resampler struct {
	n, ns    int
	sides    []sample
	twoLevel bool
	workers  int
}

// chunk is how many resamples or rounds one random stream draws. Each
// chunk's stream is seeded from the seed and the chunk's number and its
// results go to fixed places, so the outcome does not depend on how many
// goroutines run or in what order they finish.
const chunk = 64

// Stream purposes, so that the bootstrap's item draws, its repeat draws
// and the randomisation test never share a stream.
const (
	streamItems = iota + 1
	streamRepeats
	streamFlips
)

// newStream returns the random stream of one chunk for one purpose.
func newStream(seed uint64, purpose, c int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, splitmix(uint64(c)<<2|uint64(purpose))))
}

// splitmix is SplitMix64's finaliser: distinct inputs give well-spread,
// distinct outputs.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// inParallel calls fn for each chunk 0..chunks-1 on up to workers
// goroutines, stopping early (and returning ctx's error) when ctx ends.
// fn gets the worker's number for its scratch space.
func inParallel(ctx context.Context, chunks, workers int, fn func(worker, c int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				fn(w, c)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// bootstrap returns the means of B paired resamples: means[s][m][b] is
// side s's mean of series m in resample b. A resample draws n items with
// replacement, the same ones for every side; with twoLevel, each drawn
// item's value on each side is then the mean of as many of its repeats,
// drawn with replacement (each side's own repeats: repeats are not paired
// across sides). An item's value is otherwise the mean of its repeats.
func (rs *resampler) bootstrap(ctx context.Context, B int, seed uint64) ([][][]float64, error) {
	means := make([][][]float64, len(rs.sides))
	for s := range means {
		means[s] = make([][]float64, rs.ns)
		for m := range means[s] {
			means[s][m] = make([]float64, B)
		}
	}
	workers := rs.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type scratch struct {
		idx  []int
		sums []float64
	}
	scr := make([]scratch, workers)
	for w := range scr {
		scr[w] = scratch{idx: make([]int, rs.n), sums: make([]float64, rs.ns)}
	}
	chunks := (B + chunk - 1) / chunk
	err := inParallel(ctx, chunks, workers, func(w, c int) {
		items, repeats := newStream(seed, streamItems, c), newStream(seed, streamRepeats, c)
		idx, sums := scr[w].idx, scr[w].sums
		for b := c * chunk; b < min(B, (c+1)*chunk); b++ {
			for j := range idx {
				idx[j] = items.IntN(rs.n)
			}
			for s := range rs.sides {
				rs.resampleSide(&rs.sides[s], idx, repeats, sums)
				for m, sum := range sums {
					means[s][m][b] = sum / float64(rs.n)
				}
			}
		}
	})
	return means, err
}

// resampleSide sums, per series, the values of the drawn items on one
// side.
func (rs *resampler) resampleSide(sm *sample, idx []int, repeats *rand.Rand, sums []float64) {
	ns := rs.ns
	clear(sums)
	for _, i := range idx {
		lo, k := sm.off[i], sm.off[i+1]-sm.off[i]
		if k == 1 {
			v := sm.vals[lo*ns : lo*ns+ns]
			for m := range sums {
				sums[m] += v[m]
			}
			continue
		}
		inv := 1 / float64(k)
		for r := range k {
			pos := lo + r // every repeat once: the item's mean
			if rs.twoLevel {
				pos = lo + repeats.IntN(k)
			}
			v := sm.vals[pos*ns : pos*ns+ns]
			for m := range sums {
				sums[m] += v[m] * inv
			}
		}
	}
}

// itemMeans returns side s's per-item values (the mean of each item's
// repeats) as [i*ns+m].
func (rs *resampler) itemMeans(s int) []float64 {
	sm := &rs.sides[s]
	out := make([]float64, rs.n*rs.ns)
	for i := range rs.n {
		lo, k := sm.off[i], sm.off[i+1]-sm.off[i]
		for r := range k {
			for m := range rs.ns {
				out[i*rs.ns+m] += sm.vals[(lo+r)*rs.ns+m]
			}
		}
		for m := range rs.ns {
			out[i*rs.ns+m] /= float64(k)
		}
	}
	return out
}

// signFlip is the paired approximate-randomisation test of d, the
// per-item differences of one or more sides to the baseline (d[t] laid
// out as [i*ns+m]). Each round swaps the two sides' values of every item
// with probability 1/2 (flipping the sign of its difference; the same
// swaps for every side) and counts the rounds whose |Σ d| reaches the
// observed one. It returns p[t][m] = (1 + count) / (1 + R).
func signFlip(ctx context.Context, d [][]float64, n, ns, R int, seed uint64, workers int) ([][]float64, error) {
	obs := make([][]float64, len(d))
	for t := range d {
		obs[t] = make([]float64, ns)
		for m := range ns {
			var sum, abs float64
			for i := range n {
				sum += d[t][i*ns+m]
				abs += math.Abs(d[t][i*ns+m])
			}
			// A round reaches the observed sum when it is within rounding
			// of it: summing the same values with other signs rounds
			// differently.
			obs[t][m] = math.Abs(sum) - 1e-12*abs
		}
	}
	chunks := (R + chunk - 1) / chunk
	counts := make([][]int, chunks) // per chunk: [t*ns+m]
	err := inParallel(ctx, chunks, workers, func(_, c int) {
		rng := newStream(seed, streamFlips, c)
		cnt := make([]int, len(d)*ns)
		sums := make([]float64, len(d)*ns)
		for range min(R, (c+1)*chunk) - c*chunk {
			clear(sums)
			var word uint64
			for i := range n {
				if i%64 == 0 {
					word = rng.Uint64()
				}
				neg := word&1 == 1
				word >>= 1
				for t := range d {
					v := d[t][i*ns : i*ns+ns]
					s := sums[t*ns : t*ns+ns]
					if neg {
						for m := range s {
							s[m] -= v[m]
						}
					} else {
						for m := range s {
							s[m] += v[m]
						}
					}
				}
			}
			for k, s := range sums {
				if math.Abs(s) >= obs[k/ns][k%ns] {
					cnt[k]++
				}
			}
		}
		counts[c] = cnt
	})
	if err != nil {
		return nil, err
	}
	p := make([][]float64, len(d))
	for t := range d {
		p[t] = make([]float64, ns)
		for m := range ns {
			total := 0
			for _, cnt := range counts {
				total += cnt[t*ns+m]
			}
			p[t][m] = float64(1+total) / float64(1+R)
		}
	}
	return p, nil
}

// nearestRank returns the p-quantile (0 < p ≤ 1) of sorted values by the
// nearest-rank method: the smallest value with at least a share p of the
// values at or below it, x[⌈p·N⌉-1].
func nearestRank(sorted []float64, p float64) float64 {
	n := len(sorted)
	// The small slack keeps a product like 0.95·100 from rounding up to
	// the next rank.
	rank := int(math.Ceil(p*float64(n) - 1e-9))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}
