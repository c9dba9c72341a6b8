package tokenize

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

func cpList(rs []rune) string {
	var p []string
	for _, r := range rs {
		p = append(p, strconv.FormatInt(int64(r), 16))
	}
	return strings.Join(p, ".")
}

func TestZZDump(t *testing.T) {
	f, err := os.Open("/tmp/h1/dump.txt")
	if err != nil {
		t.Skip()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	diffs := map[string][]rune{}
	for sc.Scan() {
		fl := strings.Split(sc.Text(), " ")
		c64, _ := strconv.ParseInt(fl[0], 16, 32)
		c := rune(c64)
		// clean
		var cl string
		switch {
		case c == 0 || c == 0xfffd || isBertControl(c):
			cl = "X"
		case isWhitespace(c):
			cl = "20"
		default:
			cl = "="
		}
		if c == ' ' {
			cl = "="
		}
		if cl != fl[1] {
			diffs["clean:"+fl[1]+" go:"+cl] = append(diffs["clean:"+fl[1]+" go:"+cl], c)
		}
		ch := "="
		if isChineseChar(c) {
			ch = "C"
		}
		if ch != fl[2] {
			diffs["chinese:"+fl[2]] = append(diffs["chinese:"+fl[2]], c)
		}
		var st []rune
		for _, r := range string(appendNFD(nil, []byte(string(c)))) {
			if !isMarkNonspacing(r) {
				st = append(st, r)
			}
		}
		sts := cpList(st)
		if string(st) == string(c) {
			sts = "="
		}
		if sts != fl[3] {
			diffs["strip"] = append(diffs["strip"], c)
		}
		lo := appendLower(nil, c)
		los := cpList(lo)
		if string(lo) == string(c) {
			los = "="
		}
		if los != fl[4] {
			diffs["lower hf:"+fl[4]+" go:"+los] = append(diffs["lower hf:"+fl[4]+" go:"+los], c)
		}
		p := "1"
		if isWhitespace(c) {
			p = "2"
		} else if isBertPunct(c) {
			p = "3"
		}
		if p != fl[5] {
			diffs["pretok hf:"+fl[5]+" go:"+p] = append(diffs["pretok hf:"+fl[5]+" go:"+p], c)
		}
		hfc := ""
		switch {
		case fl[6] == "1":
			hfc += "L"
		}
		if fl[7] == "1" {
			hfc += "N"
		}
		if fl[8] == "1" {
			hfc += "O"
		}
		if fl[9] == "1" {
			hfc += "S"
		}
		gc := "LNSO"[classOf(c) : classOf(c)+1]
		if gc != hfc {
			diffs["bl hf:"+hfc+" go:"+gc] = append(diffs["bl hf:"+hfc+" go:"+gc], c)
		}
	}
	for k, v := range diffs {
		s := fmt.Sprintf("%s: %d:", k, len(v))
		for i, r := range v {
			if i > 30 {
				break
			}
			s += fmt.Sprintf(" %x", r)
		}
		fmt.Println(s)
	}
}
