package dataset

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// writeBig writes n records of about 120 bytes in format to a file.
func writeBig(tb testing.TB, format Format, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "big."+string(format))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	const text = "The quick brown fox jumps over the lazy dog, again and again"
	switch format {
	case CSV:
		fmt.Fprintln(w, "source,reference")
	case TSV:
		fmt.Fprintln(w, "source\treference")
	}
	for i := range n {
		switch format {
		case Text:
			fmt.Fprintf(w, "%d %s %s\n", i, text, text)
		case JSONL:
			fmt.Fprintf(w, `{"source": "%d %s", "reference": "%s"}`+"\n", i, text, text)
		case CSV:
			fmt.Fprintf(w, "\"%d %s\",\"%s\"\n", i, text, text)
		case TSV:
			fmt.Fprintf(w, "%d %s\t%s\n", i, text, text)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStreamed: reading a file of ~24 MB (in each format) keeps well under 8 MB live,
// whatever the format: items are not held (ids derived from lines cost a
// bit each).
func TestStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 100 MB; skipped under -short")
	}
	const n, bound = 200_000, 8 << 20
	for _, format := range []Format{Text, JSONL, CSV, TSV} {
		t.Run(string(format), func(t *testing.T) {
			path := writeBig(t, format, n)
			st, _ := os.Stat(path)
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			base := liveHeap()
			var peak uint64
			for i := 0; ; i++ {
				_, err := r.Next()
				if err == io.EOF {
					if i != n {
						t.Fatalf("%d items, want %d", i, n)
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if i%20_000 == 0 {
					peak = max(peak, liveHeap())
				}
			}
			if grown := int64(peak) - int64(base); grown > bound {
				t.Errorf("reading a %d MB file grew the live heap by %d MB; want under %d MB", st.Size()>>20, grown>>20, bound>>20)
			}
		})
	}
}

// BenchmarkRead reads a file of 50,000 records in each format.
func BenchmarkRead(b *testing.B) {
	for _, format := range []Format{Text, JSONL, CSV, TSV} {
		b.Run(string(format), func(b *testing.B) {
			path := writeBig(b, format, 50_000)
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				r, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				for _, err := range r.All() {
					if err != nil {
						b.Fatal(err)
					}
				}
				r.Close()
			}
		})
	}
}
