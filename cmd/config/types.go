package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as Go writes it ("500ms", "30s").
// Negative durations are refused.
type Duration time.Duration

// UnmarshalYAML reads "30s"; its error names the value and says what fits.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 {
		return valueError(n, "is not a duration (examples: 500ms, 30s, 2m)")
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as Go formats it.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// ByteSize is a count of bytes, written as an integer or with one of the
// suffixes KiB, MiB, GiB ("1GiB").
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// UnmarshalYAML reads 1048576 or "1MiB".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, ok := parseSize(n.Value)
	if n.Kind != yaml.ScalarNode || !ok {
		return valueError(n, "is not a non-negative integer (suffixes KiB, MiB, GiB allowed)")
	}
	*b = ByteSize(v)
	return nil
}

func parseSize(s string) (int64, bool) {
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<63-1)/mult {
		return 0, false
	}
	return v * mult, true
}

// MarshalYAML writes the largest unit that divides the size exactly.
func (b ByteSize) MarshalYAML() (any, error) {
	for _, u := range sizeUnits {
		if b > 0 && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.suffix), nil
		}
	}
	return int64(b), nil
}

// List is a list of strings; the file may also give it as one
// comma-separated string ("a:1,b:2"), as command-line flags do.
type List []string

// UnmarshalYAML reads [a, b] or "a,b".
func (l *List) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = splitList(n.Value)
		return nil
	case yaml.SequenceNode:
		var out List
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return lineError(c, "expected a list of strings")
			}
			out = append(out, c.Value)
		}
		*l = out
		return nil
	}
	return lineError(n, "expected a list")
}

// MarshalYAML writes the list on one line, as the example file does.
func (l List) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range l {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: s})
	}
	return n, nil
}

// SplitList splits a comma-separated list, dropping empty items (flags
// such as --backends A,B use it too).
func SplitList(s string) List { return splitList(s) }

func splitList(s string) List {
	var out List
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Sources is the postgres key: one mapping (a single primary) or a list of
// named sources.
type Sources []Source

// UnmarshalYAML uses the decoder's own unmarshal so that unknown keys
// inside a source are refused like everywhere else.
func (s *Sources) UnmarshalYAML(unmarshal func(any) error) error {
	var shape any // the decoder's own unmarshal hands out no yaml.Node
	if err := unmarshal(&shape); err != nil {
		return err
	}
	switch shape.(type) {
	case map[string]any:
		var one Source
		if err := unmarshal(&one); err != nil {
			return err
		}
		*s = Sources{one}
	case []any:
		var list []Source
		if err := unmarshal(&list); err != nil {
			return err
		}
		*s = list
	default:
		return &yaml.TypeError{Errors: []string{"postgres: expected a mapping (one primary) or a list of named sources"}}
	}
	return nil
}

// MarshalYAML writes a single unnamed source as today's mapping.
func (s Sources) MarshalYAML() (any, error) {
	if len(s) == 1 && s[0].Name == "" {
		return s[0], nil
	}
	return []Source(s), nil
}

// UnmarshalYAML starts every source from DefaultSource, so that each
// element of a list has the defaults too.
func (s *Source) UnmarshalYAML(unmarshal func(any) error) error {
	type fields Source // without this method
	f := fields(DefaultSource())
	if err := unmarshal(&f); err != nil {
		return err
	}
	*s = Source(f)
	return nil
}

// valueError and lineError return what the decoder collects (a
// *yaml.TypeError) so that every problem of a file is reported; Parse
// finds the key by the value's line and column and names it instead.
func valueError(n *yaml.Node, msg string) error {
	return lineError(n, strconv.Quote(n.Value)+" "+msg)
}

func lineError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d column %d: %s", n.Line, n.Column, msg)}}
}
