package tokenize

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// addedTokens finds the tokens of tokenizer.json's "added_tokens" (such as
// [CLS], [MASK], <s>) in raw text, as Hugging Face's AddedVocabulary does:
// leftmost-longest matches, each becoming its own id, optionally absorbing
// whitespace on its left (lstrip) or right (rstrip).
type addedTokens struct {
	// byFirst lists, for each first byte, the tokens that start with it,
	// longest first.
	byFirst [256][]addedToken
}

type addedToken struct {
	content        string
	id             int32
	lstrip, rstrip bool
}

func newAddedTokens(toks []addedToken) *addedTokens {
	a := &addedTokens{}
	for _, t := range toks {
		if t.content == "" {
			continue
		}
		a.byFirst[t.content[0]] = append(a.byFirst[t.content[0]], t)
	}
	for i := range a.byFirst {
		sort.SliceStable(a.byFirst[i], func(x, y int) bool {
			return len(a.byFirst[i][x].content) > len(a.byFirst[i][y].content)
		})
	}
	return a
}

// find returns the next added token in s at or after byte from: the byte
// range [start, end) of text it replaces (whitespace absorbed by lstrip or
// rstrip included) and its id. minStart is the end of the previous match,
// which lstrip may not cross. ok is false when there is none.
func (a *addedTokens) find(s string, from, minStart int) (start, end int, id int32, ok bool) {
	for i := from; i < len(s); i++ {
		cands := a.byFirst[s[i]]
		if len(cands) == 0 {
			continue
		}
		for _, t := range cands {
			if !strings.HasPrefix(s[i:], t.content) {
				continue
			}
			start, end = i, i+len(t.content)
			if t.lstrip {
				for start > minStart {
					r, size := utf8.DecodeLastRuneInString(s[minStart:start])
					if !isWhitespace(r) {
						break
					}
					start -= size
				}
			}
			if t.rstrip {
				for end < len(s) {
					r, size := utf8.DecodeRuneInString(s[end:])
					if !isWhitespace(r) {
						break
					}
					end += size
				}
			}
			return start, end, t.id, true
		}
	}
	return 0, 0, 0, false
}
