package main

import "testing"

// TestSpaced: a space follows every colon and comma outside strings, none
// inside them (escaped quotes included).
func TestSpaced(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1,"b":[1,2]}`:            `{"a": 1, "b": [1, 2]}`,
		`{"hash":"x_L3(a=1,b=2):c"}`:   `{"hash": "x_L3(a=1,b=2):c"}`,
		`["q\"uo,te:","\\",1]`:         `["q\"uo,te:", "\\", 1]`,
		`{"P":null,"R":0.5,"F":1e-07}`: `{"P": null, "R": 0.5, "F": 1e-07}`,
		`{}`:                           `{}`,
		`{"k":"\u003c,:"}`:             `{"k": "\u003c,:"}`,
	} {
		if got := string(spaced([]byte(in))); got != want {
			t.Errorf("spaced(%s) = %s, want %s", in, got, want)
		}
	}
}
