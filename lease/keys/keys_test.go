package keys

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(c string) (string, bool) { v, ok := m[c]; return v, ok }
}

func TestRender(t *testing.T) {
	row := map[string]string{
		"id":    "42",
		"name":  "Zoë Smith",
		"email": "a+b@x.org",
		"safe":  "AZaz09._~-",
		"evil":  "x\r\nset y 0 0 1\r\n",
		"brace": "{id}",
		"empty": "",
		"pct":   "100%",
	}
	cases := []struct{ tpl, want string }{
		{"user:{id}", "user:42"},
		{"user_by_name:{name}", "user_by_name:Zo%C3%AB%20Smith"},
		{"{email}", "a%2Bb%40x.org"},
		{"s:{safe}", "s:AZaz09._~-"},
		{"e:{evil}", "e:x%0D%0Aset%20y%200%200%201%0D%0A"},
		{"b:{brace}", "b:%7Bid%7D"},
		{"k:{id}:{id}", "k:42:42"},
		{"{id}{name}", "42Zo%C3%AB%20Smith"},
		{"e:{empty}", "e:"},
		{"p:{pct}", "p:100%25"},
		{"static:all", "static:all"},
		{"ünï:{id}", "ünï:42"}, // literal non-ASCII is the operator's choice
	}
	for _, c := range cases {
		got, err := Render(c.tpl, mapLookup(row))
		if err != nil || got != c.want {
			t.Errorf("Render(%q) = %q, %v; want %q", c.tpl, got, err, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	row := mapLookup(map[string]string{"id": "1", "long": strings.Repeat("a", 246), "empty": ""})
	cases := []struct {
		tpl  string
		want error
	}{
		{"", ErrSyntax},
		{"user:{id", ErrSyntax},
		{"user:id}", ErrSyntax},
		{"user:{}", ErrSyntax},
		{"user:{a{b}}", ErrSyntax},
		{"user {id}", ErrSyntax},
		{"user:\n{id}", ErrSyntax},
		{"user:\x7f{id}", ErrSyntax},
		{"user:{nope}", ErrMissingColumn},
		{"{empty}", ErrSyntax},
		{"12345{long}", ErrKeyTooLong},
		{strings.Repeat("x", 251), ErrKeyTooLong},
		{"1234{long}", nil}, // exactly 250
	}
	for _, c := range cases {
		got, err := Render(c.tpl, row)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Render(%.20q) = %q, %v; want error %v", c.tpl, got, err, c.want)
		}
	}
	// An escaped byte must not straddle the limit: 248 + "%20" is 251.
	sp := mapLookup(map[string]string{"v": strings.Repeat("a", 248) + " "})
	if _, err := Render("{v}", sp); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("escape over the limit: %v", err)
	}
	if k, err := Render("{v}", mapLookup(map[string]string{"v": strings.Repeat("a", 247) + " "})); err != nil || len(k) != 250 {
		t.Errorf("escape at the limit: %d %v", len(k), err)
	}
}

func TestColumns(t *testing.T) {
	cols, err := Columns("a:{x}:{y}:{x}:{z}")
	if err != nil || !reflect.DeepEqual(cols, []string{"x", "y", "z"}) {
		t.Fatalf("Columns = %v, %v", cols, err)
	}
	if cols, err := Columns("static"); err != nil || len(cols) != 0 {
		t.Fatalf("Columns(static) = %v, %v", cols, err)
	}
	for _, bad := range []string{"", "{", "}", "{}", "a{b", "a b", "{a}}"} {
		if _, err := Columns(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("Columns(%q) err = %v", bad, err)
		}
	}
	tpl, err := Parse("user:{id}")
	if err != nil || tpl.String() != "user:{id}" || !reflect.DeepEqual(tpl.Columns(), []string{"id"}) {
		t.Fatalf("Parse = %v %v", tpl, err)
	}
	if k, err := tpl.Render(mapLookup(map[string]string{"id": "7"})); err != nil || k != "user:7" {
		t.Fatalf("Template.Render = %q %v", k, err)
	}
}

func TestRenderAllocations(t *testing.T) {
	lookup := func(c string) (string, bool) { return "Zoë 42", true }
	n := testing.AllocsPerRun(200, func() {
		if _, err := Render("user_by_name:{name}:{id}", lookup); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 {
		t.Fatalf("Render allocates %v times per call, want 1 (the result)", n)
	}
}

func BenchmarkRender(b *testing.B) {
	lookup := func(c string) (string, bool) { return "Zoë 42", true }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Render("user_by_name:{name}:{id}", lookup)
	}
}
