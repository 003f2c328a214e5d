package replication

import "testing"

func TestParseTable(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Table
		str  string
	}{
		{"public.users", Table{"public", "users"}, "public.users"},
		{"users", Table{"public", "users"}, "public.users"},
		{"Public.Users", Table{"public", "users"}, "public.users"},
		{`public."my-table"`, Table{"public", "my-table"}, `public."my-table"`},
		{`"App"."Users"`, Table{"App", "Users"}, `"App"."Users"`},
		{`s."a.b"`, Table{"s", "a.b"}, `s."a.b"`},
		{`s."say ""hi"""`, Table{"s", `say "hi"`}, `s."say ""hi"""`},
		{"s.t$1", Table{"s", "t$1"}, "s.t$1"},
		{"s._x9", Table{"s", "_x9"}, "s._x9"},
		{`public."user"`, Table{"public", "user"}, `public."user"`},
		{`public."users"`, Table{"public", "users"}, "public.users"},
		{"s.café", Table{"s", "café"}, `s."café"`},
	} {
		got, err := ParseTable(c.in)
		if err != nil {
			t.Errorf("ParseTable(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseTable(%q) = %#v, want %#v", c.in, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("ParseTable(%q).String() = %q, want %q", c.in, got.String(), c.str)
		}
		if back, err := ParseTable(got.String()); err != nil || back != got {
			t.Errorf("ParseTable(%q) = %#v, %v; want %#v", got.String(), back, err, got)
		}
	}
	for _, bad := range []string{"", ".", "public.", ".users", "a.b.c", "public.my-table", `public."my`, `public.""`,
		"public.1users", "public. users", `public."a"b`, "public.users;drop"} {
		if got, err := ParseTable(bad); err == nil {
			t.Errorf("ParseTable(%q) = %#v, want an error", bad, got)
		}
	}
}
