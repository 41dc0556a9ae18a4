package config

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns a yaml.Node tree into the config structs, following the
// `yaml` struct tags. Unlike yaml.Node.Decode it names the key path in every
// error, keeps going after an error so that all of them are reported,
// rejects unknown keys, expands ${VAR} in scalar values, and lets each new
// list element start from its defaults (see setDefaults).
type decoder struct {
	env  func(string) (string, bool)
	errs Errors
	// pos records where each key path appears, so that validation errors
	// can be sorted by position too.
	pos map[string]position
	// notes are remarks that are not errors (see Config.Notes).
	notes []string
	// secretsOptional lets a Secret's ${VAR} be unset (LoadLocal).
	secretsOptional bool
	// types decode each tenant's crm.<type> block (decodeCRM).
	types CRMTypes
}

// bareMinutes reads a bare whole number at a key that takes minutes in the
// original product (phone_calls.execution_interval) as minutes.
func bareMinutes(path, s string) (Duration, bool) {
	if !strings.HasSuffix(path, ".execution_interval") {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return Duration(time.Duration(n) * time.Minute), true
}

type position struct{ line, col int }

var (
	durationType = reflect.TypeFor[Duration]()
	secretType   = reflect.TypeFor[Secret]()
	clockType    = reflect.TypeFor[Clock]()
	crmType      = reflect.TypeFor[CRM]()
)

// maxDepth bounds recursion through aliases.
const maxDepth = 64

type defaulter interface{ setDefaults() }

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) mark(path string, n *yaml.Node) {
	if _, ok := d.pos[path]; !ok && n != nil {
		d.pos[path] = position{n.Line, n.Column}
	}
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return "a value"
	}
	return "nothing"
}

// decode stores n into v (settable). A null value leaves v as it is, so
// "key:" with nothing after it keeps the default.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	n = resolve(n)
	if n == nil || depth > maxDepth {
		d.errorf(n, path, "nesting too deep")
		return
	}
	if isNull(n) {
		if v.Kind() == reflect.Pointer {
			v.SetZero()
		}
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		if s, ok := d.scalar(n, path, "a duration"); ok {
			if m, ok := bareMinutes(path, s); ok {
				// The original ExecutionInterval is a number of minutes.
				v.Set(reflect.ValueOf(m))
				d.notes = append(d.notes, fmt.Sprintf("%s: %s read as minutes (%s), the original ExecutionInterval's unit; write %q to silence this note", path, strings.TrimSpace(s), m, m.String()))
				return
			}
			dur, err := ParseDuration(s)
			if err != nil {
				d.errorf(n, path, "%v", err)
				return
			}
			v.Set(reflect.ValueOf(dur))
		}
	case t == clockType:
		if s, ok := d.scalar(n, path, "a time window"); ok {
			c, err := ParseClock(s)
			if err != nil {
				d.errorf(n, path, "%v", err)
				return
			}
			v.Set(reflect.ValueOf(c))
		}
	case t == secretType && d.secretsOptional:
		d.optionalSecret(n, v, path)
	case t.Kind() == reflect.String: // string and Secret
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, ok := parseBool(s)
			if !ok {
				d.errorf(n, path, "invalid boolean %q", s)
				return
			}
			v.SetBool(b)
		}
	case t.Kind() == reflect.Int:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
			if err != nil {
				d.errorf(n, path, "invalid integer %q", s)
				return
			}
			v.SetInt(i)
		}
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if v.IsNil() {
			if df, ok := p.Interface().(defaulter); ok {
				df.setDefaults()
			}
		} else {
			p.Elem().Set(v.Elem())
		}
		d.decode(n, p.Elem(), path, depth+1)
		v.Set(p)
	case t == crmType:
		d.decodeCRM(n, v.Addr().Interface().(*CRM), path, depth)
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path, depth, nil)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		d.decodeMap(n, v, path, depth)
	case t.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	default:
		// A programming error: a field type the decoder does not know.
		d.errorf(n, path, "unsupported field type %s", t)
	}
}

// optionalSecret stores a secret of LoadLocal: unset variables become a
// marker, so validation sees a value, and nothing local sends it anywhere.
func (d *decoder) optionalSecret(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		if s, err := expand(n.Value, func(k string) (string, bool) {
			if v, ok := d.env(k); ok {
				return v, true
			}
			return UnsetSecret, true
		}); err == nil {
			v.SetString(s)
			return
		}
	}
	if s, ok := d.scalar(n, path, "a string"); ok {
		v.SetString(s)
	}
}

// scalar returns the scalar's text with ${VAR} expanded.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	s, err := expand(n.Value, d.env)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return "", false
	}
	return s, true
}

// parseBool accepts YAML 1.2 booleans only: "yes"/"on" are errors rather
// than silent surprises.
func parseBool(s string) (bool, bool) {
	switch strings.TrimSpace(s) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// pair is one key and value of a mapping, merge keys ("<<") resolved.
type pair struct {
	key   string
	kn    *yaml.Node
	value *yaml.Node
}

// pairs returns a mapping's entries: merged ones ("<<: *anchor") first,
// unless the mapping sets the same key itself. Duplicate keys are errors.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var merged, own []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.errorf(kn, path, "keys must be plain values, got %s", kindName(kn))
			continue
		}
		if kn.Tag == "!!merge" || (kn.Value == "<<" && kn.Style == 0) {
			merged = append(merged, d.mergePairs(vn, path, depth)...)
			continue
		}
		if seen[kn.Value] {
			d.errorf(kn, join(path, kn.Value), "duplicate key")
			continue
		}
		seen[kn.Value] = true
		own = append(own, pair{kn.Value, kn, vn})
	}
	out := make([]pair, 0, len(merged)+len(own))
	mseen := map[string]bool{}
	for _, p := range merged { // with several merged mappings the first wins
		if !seen[p.key] && !mseen[p.key] {
			mseen[p.key] = true
			out = append(out, p)
		}
	}
	return append(out, own...)
}

func (d *decoder) mergePairs(vn *yaml.Node, path string, depth int) []pair {
	vn = resolve(vn)
	if depth > maxDepth {
		d.errorf(vn, path, "nesting too deep")
		return nil
	}
	switch vn.Kind {
	case yaml.MappingNode:
		return d.pairs(vn, path, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, m := range vn.Content {
			if m := resolve(m); m.Kind == yaml.MappingNode {
				out = append(out, d.pairs(m, path, depth+1)...)
			} else {
				d.errorf(m, path, "merge (<<) needs a mapping, got %s", kindName(m))
			}
		}
		return out
	}
	d.errorf(vn, path, "merge (<<) needs a mapping, got %s", kindName(vn))
	return nil
}

// decodeStruct decodes a mapping into a struct by its yaml tags. A key the
// struct lacks goes to extra when extra takes it, else it is an error.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int, extra func(p pair) bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := yamlFields(t)
	for _, p := range d.pairs(n, path, depth) {
		child := join(path, p.key)
		i, ok := fields[p.key]
		if !ok && strings.HasPrefix(p.key, "x-") {
			continue // extension keys hold YAML anchors, as in Compose files
		}
		if !ok && extra != nil && extra(p) {
			d.mark(child, p.kn)
			continue
		}
		if !ok {
			known := fields
			if t == crmType {
				known = maps.Clone(fields)
				for name := range d.types {
					known[name] = -1
				}
			}
			d.errorf(p.kn, child, "unknown key%s", suggest(p.key, known))
			continue
		}
		d.mark(child, p.kn)
		if f := t.Field(i); d.secretsOptional && f.Tag.Get("config") == "secret" && f.Type.Kind() == reflect.String {
			if r := resolve(p.value); r != nil && !isNull(r) {
				d.optionalSecret(r, v.Field(i), child)
				continue
			}
		}
		d.decode(p.value, v.Field(i), child, depth+1)
		if f := t.Field(i); f.Tag.Get("config") == "url" && f.Type.Kind() == reflect.String {
			// A base URL clients concatenate paths to.
			v.Field(i).SetString(strings.TrimRight(strings.TrimSpace(v.Field(i).String()), "/"))
		}
	}
}

// decodeCRM decodes a tenant's crm mapping: its own keys, and a block per
// registered CRM type, decoded by that type into the client's own
// configuration (CRMType.Decode). Every block present is read, so a typo
// in another type's block is an error too; Options holds crm.type's.
func (d *decoder) decodeCRM(n *yaml.Node, c *CRM, path string, depth int) {
	blocks := map[string]*yaml.Node{}
	d.decodeStruct(n, reflect.ValueOf(c).Elem(), path, depth, func(p pair) bool {
		if _, ok := d.types[p.key]; !ok {
			return false
		}
		blocks[p.key] = p.value
		return true
	})
	for _, name := range d.types.names() {
		t := d.types[name]
		node, ok := blocks[name]
		if t.Decode == nil || (!ok && name != c.Type) {
			continue
		}
		opts := t.Decode(func(into any) {
			if ok {
				d.decode(node, reflect.ValueOf(into).Elem(), join(path, name), depth+1)
			}
		})
		if name == c.Type {
			c.Options = NewCRMOptions(opts)
		}
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, p := range d.pairs(n, path, depth) {
		child := join(path, p.key)
		d.mark(child, p.kn)
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.value, e, child, depth+1)
		v.SetMapIndex(reflect.ValueOf(p.key).Convert(v.Type().Key()), e)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, en := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		d.mark(child, en)
		e := s.Index(i)
		if df, ok := e.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		if r := resolve(en); r != nil && isNull(r) {
			d.errorf(en, child, "empty list item")
			continue
		}
		d.decode(en, e, child, depth+1)
	}
	v.Set(s)
}

// yamlFields maps each yaml key of a struct type to its field index.
func yamlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a key to a path: "a.b", or a["key with.dots"].
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names the closest known key when a typo is likely.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for k := range fields {
		if dist := levenshtein(key, k); dist < bestD || (dist == bestD && k < best) {
			best, bestD = k, dist
		}
	}
	if best == "" || bestD > 2 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expand replaces ${VAR} with the variable's value and "$$" with "$". Any
// other "$" stays as written (regular expressions, passwords).
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in value")
			}
			name := s[i+2 : i+2+end]
			if !envName.MatchString(name) {
				return "", fmt.Errorf("invalid environment variable name %q", name)
			}
			val, ok := env(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(val)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
