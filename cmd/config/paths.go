package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// keyIndex is every key of a file with its dotted path, in document order,
// so a decoder problem ("line 7: ...") can name its key.
type keyIndex []keyEntry

type keyEntry struct {
	path       string
	key, value *yaml.Node
	// parent is the struct the key belongs to (nil for a map's keys, such
	// as table names): its fields are the keys that were possible.
	parent reflect.Type
}

var (
	configType  = reflect.TypeOf(Config{})
	sourcesType = reflect.TypeOf(Sources{})
)

func indexKeys(root *yaml.Node) keyIndex {
	var idx keyIndex
	idx.walk(root, configType, "")
	return idx
}

func (idx *keyIndex) walk(n *yaml.Node, t reflect.Type, path string) {
	if t == sourcesType && n.Kind == yaml.MappingNode {
		t = t.Elem() // the single-primary form
	}
	switch {
	case n.Kind == yaml.MappingNode && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			e := keyEntry{path: joinKey(path, k.Value), key: k, value: v}
			*idx = append(*idx, e)
			if t.Kind() == reflect.Map {
				idx.walk(v, t.Elem(), e.path)
				continue
			}
			(*idx)[len(*idx)-1].parent = t
			if f, ok := fieldByKey(t, k.Value); ok {
				idx.walk(v, f.Type, e.path)
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			idx.walk(item, t.Elem(), path+elemKey(i, nameOf(item)))
		}
	}
}

// nameOf is a list item's name: key, or "".
func nameOf(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
				return n.Content[i+1].Value
			}
		}
	}
	return ""
}

// elemKey is how a list item appears in a key's path: by its name when it
// has one (postgres.shard1.source), else by its index (postgres[1].source).
func elemKey(i int, name string) string {
	if name != "" {
		return "." + name
	}
	return "[" + strconv.Itoa(i) + "]"
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); yamlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func keysOf(t reflect.Type) string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		names = append(names, yamlKey(t.Field(i)))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var (
	lineRE    = regexp.MustCompile(`^line (\d+)(?: column (\d+))?: (.*)$`)
	unknownRE = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	cannotRE  = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
)

// explain turns one of the decoder's problems into one naming its key.
// The decoder (gopkg.in/yaml.v3) words them "line N: field X not found in
// type T" and "line N: cannot unmarshal !!tag `value` into T"; this
// package's own types add the column ("line N column C: ...").
func (idx keyIndex) explain(msg string) string {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	rest := m[3]
	if u := unknownRE.FindStringSubmatch(rest); u != nil {
		for _, e := range idx {
			if e.key.Line == line && e.key.Value == u[1] && e.parent != nil {
				return fmt.Sprintf("%s: line %d: unknown key (known: %s)", e.path, line, keysOf(e.parent))
			}
		}
		return msg
	}
	if c := cannotRE.FindStringSubmatch(rest); c != nil {
		want := "line " + m[1] + ": expected " + describe(c[3])
		if c[2] != "" {
			want += fmt.Sprintf(", not %q", c[2])
		}
		if e, ok := idx.onLine(line, strings.TrimSuffix(c[2], "...")); ok {
			return e.path + ": " + want
		}
		return want
	}
	if e, ok := idx.before(line, col); ok {
		return e.path + ": " + rest
	}
	return msg
}

// onLine is the key whose scalar value on line starts with prefix (the
// decoder shortens long values), or the first key of the line.
func (idx keyIndex) onLine(line int, prefix string) (keyEntry, bool) {
	var first *keyEntry
	for i, e := range idx {
		if e.value.Line != line {
			continue
		}
		if first == nil {
			first = &idx[i]
		}
		if prefix != "" && e.value.Kind == yaml.ScalarNode && strings.HasPrefix(e.value.Value, prefix) {
			return e, true
		}
	}
	if first == nil {
		return keyEntry{}, false
	}
	return *first, true
}

// before is the last key at or before line and column: the key whose value
// holds that position.
func (idx keyIndex) before(line, col int) (keyEntry, bool) {
	var found keyEntry
	ok := false
	for _, e := range idx {
		if e.key.Line < line || (e.key.Line == line && e.key.Column <= col) {
			found, ok = e, true
		}
	}
	return found, ok
}

// describe says what a Go type accepts, for the decoder's own problems.
func describe(goType string) string {
	switch {
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}
