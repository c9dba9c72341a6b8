package tokenize

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestZZSeeds(t *testing.T) {
	if os.Getenv("WRITE_SEEDS") == "" {
		t.Skip()
	}
	write := func(target, typ, v string) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		sum := sha256.Sum256([]byte(v))
		content := fmt.Sprintf("go test fuzz v1\n%s(%s)\n", typ, strconv.Quote(v))
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%x", sum[:8])), []byte(content), 0o644)
	}
	seeds := append([]string{"", " ", "\t\n", "Hello world", "[CLS] x [SEP]", "<s>a</s>", "a\xffb\xc3", "\u3000x\u00a0", "İSTANBUL ǅ ﬁ"}, fragments...)
	for _, s := range generateTexts(40, 7) {
		if len(s) < 1500 {
			seeds = append(seeds, s)
		}
	}
	for _, s := range seeds {
		write("FuzzEncode", "string", s)
	}
	for _, s := range []string{miniWordPiece, miniBPE, miniUnigram, "{}", "null", `{"model":{"type":"Unigram"}}`} {
		write("FuzzParse", "[]byte", s)
	}
}
