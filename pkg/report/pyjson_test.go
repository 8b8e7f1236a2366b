package report

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// pyrepr.json comes from real CPython (scripts/gen-stats-vectors.py).
func TestPythonReprVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/pyrepr.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Floats, Specials []struct{ Bits, Repr, JSON string }
		Strings          []struct{ S, JSON string }
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Floats) < 500 || len(v.Strings) < 10 {
		t.Fatalf("too few vectors: %d floats, %d strings", len(v.Floats), len(v.Strings))
	}
	for _, c := range append(v.Floats, v.Specials...) {
		bits, err := strconv.ParseUint(c.Bits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		f := math.Float64frombits(bits)
		if got := PyRepr(f); got != c.Repr && !math.IsNaN(f) {
			t.Errorf("PyRepr(%s) = %q, Python %q", c.Bits, got, c.Repr)
		}
		if got := PyFloatJSON(f); got != c.JSON {
			t.Errorf("PyFloatJSON(%s) = %q, Python %q", c.Bits, got, c.JSON)
		}
	}
	for _, c := range v.Strings {
		if got := PyStringJSON(c.S); got != c.JSON {
			t.Errorf("PyStringJSON(%q) = %s, Python %s", c.S, got, c.JSON)
		}
	}
}

func TestPyReencode(t *testing.T) {
	in := json.RawMessage(`{"b":1,"a":[1.5,2e-5,-0,1E2,"é",true,null,{"z":{}}],"big":123456789012345678901234567890,"f":0.1}`)
	got, err := PyDumps(in)
	if err != nil {
		t.Fatal(err)
	}
	// What Python prints for json.dumps(json.loads(in)).
	want := `{"b": 1, "a": [1.5, 2e-05, 0, 100.0, "\u00e9", true, null, {"z": {}}], "big": 123456789012345678901234567890, "f": 0.1}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	d := &PyDict{}
	d.Set("x", math.Inf(1))
	d.Set("y", (*int)(nil))
	d.Set("z", [][]float64{{0.5}, {}})
	d.Set("x", 2.0)
	got, _ = PyDumps(d)
	if want := `{"x": 2.0, "y": null, "z": [[0.5], []]}`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}
