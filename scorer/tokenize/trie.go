package tokenize

import "sort"

// pieceTrie is a byte trie of Unigram pieces for the prefix search of the
// Viterbi lattice: one child lookup per byte, stopping at the first byte no
// piece continues with (Hugging Face uses a trie the same way). Children of
// a node are stored contiguously, sorted by label.
type pieceTrie struct {
	nodes []trieNode
}

type trieNode struct {
	id    int32 // piece ending here, or -1
	first int32 // index of the first child
	count int32 // number of children
	label byte  // byte on the edge into this node
}

// newPieceTrie builds the trie of the keys of pieces.
func newPieceTrie(pieces map[string]int32) *pieceTrie {
	keys := make([]string, 0, len(pieces))
	for k := range pieces {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	t := &pieceTrie{nodes: []trieNode{{id: -1}}}
	// Breadth-first: each queue entry is a node and the sorted range of
	// keys below it; its children are appended contiguously.
	type span struct {
		node   int32
		lo, hi int
		depth  int
	}
	queue := []span{{0, 0, len(keys), 0}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		lo := s.lo
		if lo < s.hi && len(keys[lo]) == s.depth { // the key equal to this prefix sorts first
			t.nodes[s.node].id = pieces[keys[lo]]
			lo++
		}
		t.nodes[s.node].first = int32(len(t.nodes))
		for i := lo; i < s.hi; {
			c := keys[i][s.depth]
			j := i
			for j < s.hi && keys[j][s.depth] == c {
				j++
			}
			child := int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{id: -1, label: c})
			queue = append(queue, span{child, i, j, s.depth + 1})
			i = j
		}
		t.nodes[s.node].count = int32(len(t.nodes)) - t.nodes[s.node].first
	}
	return t
}

// child returns the child of node n along byte c, or -1.
func (t *pieceTrie) child(n int32, c byte) int32 {
	nd := &t.nodes[n]
	lo, hi := nd.first, nd.first+nd.count
	for lo < hi {
		m := int32(uint32(lo+hi) >> 1)
		if t.nodes[m].label < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < nd.first+nd.count && t.nodes[lo].label == c {
		return lo
	}
	return -1
}
