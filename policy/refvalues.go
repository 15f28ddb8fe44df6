package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// Bounds of a reference-value document.
const (
	MaxDocumentSize  = 4 << 20 // bytes
	MaxEntries       = 10000   // entries in one document
	MaxValuesInEntry = 4096    // values in one entry
	MaxValueSize     = 4096    // bytes of one value's text
	// MaxDocumentNodes bounds the structure of a document before it is
	// decoded: the JSON and YAML decoders allocate hundreds of bytes per
	// node, so a document of a few megabytes of short values would cost
	// gigabytes. JSON counts array elements and object members; YAML counts
	// the indicators that can open a node (",", "[", "{", "?", and "-" or
	// ":" before a blank), an upper bound on its nodes. Ten thousand
	// entries of a few values each fit.
	MaxDocumentNodes = 1 << 16
	// maxJSONDepth bounds JSON nesting before decoding; a valid document
	// nests four deep, and deeper values up to this bound are refused as
	// nested values (ErrMalformed).
	maxJSONDepth = 8
)

// ReferenceValues are named sets of expected values, each value with an
// optional expiry. A value whose expiry has passed is absent: Lookup does not
// return it. ReferenceValues are immutable once parsed and safe for
// concurrent use.
type ReferenceValues struct {
	byName map[string][]value
}

type value struct {
	text    string
	expires time.Time // zero: never
}

// Entry is one entry of a reference-value document: a name, one value or a
// list of values (strings, numbers or booleans), and an optional expiry that
// applies to every value of the entry. Entries with the same name add up.
type Entry struct {
	Name       string     `json:"name" yaml:"name"`
	Value      any        `json:"value" yaml:"value"`
	Expiration *time.Time `json:"expiration,omitempty" yaml:"expiration,omitempty"`
}

// Document is the reference-value file format, in JSON or YAML:
//
//	{"version": "1",
//	 "reference_values": [
//	   {"name": "mr_td", "value": ["b8…"], "expiration": "2027-01-01T00:00:00Z"},
//	   {"name": "tdx_accepted_tcb_status", "value": ["UpToDate"]}]}
//
// Names are listed in the package documentation.
type Document struct {
	Version         string  `json:"version" yaml:"version"`
	ReferenceValues []Entry `json:"reference_values" yaml:"reference_values"`
}

// DocumentVersion is the only document version understood.
const DocumentVersion = "1"

// LoadReferenceValues reads a reference-value document from a file.
func LoadReferenceValues(path string) (*ReferenceValues, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "reference values: %w", err)
	}
	if fi.Size() > MaxDocumentSize {
		return nil, verify.Errorf(verify.ErrLimit, "reference values %s: %d bytes, limit %d", path, fi.Size(), MaxDocumentSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "reference values: %w", err)
	}
	rv, err := ParseReferenceValues(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rv, nil
}

// ParseReferenceValues parses a reference-value document in JSON (when it
// starts with '{') or YAML. Unknown fields, unknown versions, empty names or
// values and nested values are ErrMalformed.
func ParseReferenceValues(doc []byte) (*ReferenceValues, error) {
	if len(doc) > MaxDocumentSize {
		return nil, verify.Errorf(verify.ErrLimit, "reference values: %d bytes, limit %d", len(doc), MaxDocumentSize)
	}
	var d Document
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "reference values: empty document")
	}
	if trimmed[0] == '{' {
		if err := jsonbound.Check(trimmed, "reference values (JSON)", maxJSONDepth, MaxDocumentNodes); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "reference values (JSON): %w", err)
		}
		// Not dec.More(), which reports false before a stray ']' or '}'.
		if len(bytes.TrimLeft(trimmed[dec.InputOffset():], " \t\r\n")) != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "reference values (JSON): trailing data after the document")
		}
	} else {
		if err := boundYAML(trimmed); err != nil {
			return nil, err
		}
		var err error
		if d, err = decodeYAML(trimmed); err != nil {
			return nil, err
		}
	}
	if d.Version != DocumentVersion {
		return nil, verify.Errorf(verify.ErrMalformed, "reference values: version: expected %q, got %q", DocumentVersion, d.Version)
	}
	return FromEntries(d.ReferenceValues...)
}

// FromEntries builds reference values from entries, as ParseReferenceValues
// does from a document.
func FromEntries(entries ...Entry) (*ReferenceValues, error) {
	if len(entries) > MaxEntries {
		return nil, verify.Errorf(verify.ErrLimit, "reference values: %d entries, limit %d", len(entries), MaxEntries)
	}
	rv := &ReferenceValues{byName: map[string][]value{}}
	for i, e := range entries {
		if strings.TrimSpace(e.Name) == "" {
			return nil, verify.Errorf(verify.ErrMalformed, "reference values[%d]: empty name", i)
		}
		texts, err := valueTexts(e.Value)
		if err != nil {
			if verify.KindOf(err) != nil {
				return nil, fmt.Errorf("reference values[%d] %q: %w", i, e.Name, err)
			}
			return nil, verify.Errorf(verify.ErrMalformed, "reference values[%d] %q: %w", i, e.Name, err)
		}
		var exp time.Time
		if e.Expiration != nil {
			if e.Expiration.IsZero() {
				return nil, verify.Errorf(verify.ErrMalformed, "reference values[%d] %q: zero expiration", i, e.Name)
			}
			exp = *e.Expiration
		}
		for _, t := range texts {
			rv.byName[e.Name] = append(rv.byName[e.Name], value{text: t, expires: exp})
		}
	}
	return rv, nil
}

// valueTexts flattens a scalar or a list of scalars into texts.
func valueTexts(v any) ([]string, error) {
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("empty value list")
	}
	if len(list) > MaxValuesInEntry {
		return nil, verify.Errorf(verify.ErrLimit, "%d values, limit %d", len(list), MaxValuesInEntry)
	}
	out := make([]string, 0, len(list))
	for j, x := range list {
		t, ok := Text(x)
		if !ok {
			return nil, fmt.Errorf("value %d: expected a string, number or boolean, got %T", j, x)
		}
		if t == "" {
			return nil, fmt.Errorf("value %d: empty", j)
		}
		if len(t) > MaxValueSize {
			return nil, fmt.Errorf("value %d: %d bytes, limit %d", j, len(t), MaxValueSize)
		}
		out = append(out, t)
	}
	return out, nil
}

// Text renders a claim or reference value as comparable text: strings as
// they are, byte slices as lower-case hex, integers in decimal, booleans as
// true/false. Other types (maps, lists, nil) have no text.
func Text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return fmt.Sprintf("%x", x), true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int8, int16, int32, int64:
		return fmt.Sprintf("%d", x), true
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("%d", x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case float32:
		return Text(float64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

// Lookup returns the values of name that have not expired at now, in the
// order they were given. No values (absent or all expired) is nil.
func (rv *ReferenceValues) Lookup(name string, now time.Time) []string {
	if rv == nil {
		return nil
	}
	var out []string
	for _, v := range rv.byName[name] {
		if v.expires.IsZero() || now.Before(v.expires) {
			out = append(out, v.text)
		}
	}
	return out
}

// Expired returns the values of name that have expired at now.
func (rv *ReferenceValues) Expired(name string, now time.Time) []string {
	if rv == nil {
		return nil
	}
	var out []string
	for _, v := range rv.byName[name] {
		if !v.expires.IsZero() && !now.Before(v.expires) {
			out = append(out, v.text)
		}
	}
	return out
}

// Names lists the names that have values, sorted.
func (rv *ReferenceValues) Names() []string {
	if rv == nil {
		return nil
	}
	out := make([]string, 0, len(rv.byName))
	for n := range rv.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Merge returns reference values holding the values of rv and others.
func (rv *ReferenceValues) Merge(others ...*ReferenceValues) *ReferenceValues {
	out := &ReferenceValues{byName: map[string][]value{}}
	for _, r := range append([]*ReferenceValues{rv}, others...) {
		if r == nil {
			continue
		}
		for n, vs := range r.byName {
			out.byName[n] = append(out.byName[n], vs...)
		}
	}
	return out
}

// yamlDocument decodes values as nodes so that unquoted scalars keep their
// text: an all-digit hex measurement must not become a number.
type yamlDocument struct {
	Version         string      `yaml:"version"`
	ReferenceValues []yamlEntry `yaml:"reference_values"`
}

type yamlEntry struct {
	Name       string     `yaml:"name"`
	Value      yaml.Node  `yaml:"value"`
	Expiration *time.Time `yaml:"expiration,omitempty"`
}

func decodeYAML(doc []byte) (Document, error) {
	var yd yamlDocument
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&yd); err != nil {
		return Document{}, verify.Errorf(verify.ErrMalformed, "reference values (YAML): %w", err)
	}
	d := Document{Version: yd.Version, ReferenceValues: make([]Entry, 0, len(yd.ReferenceValues))}
	for i, e := range yd.ReferenceValues {
		v, err := yamlValue(&e.Value)
		if err != nil {
			if verify.KindOf(err) != nil {
				return Document{}, fmt.Errorf("reference values[%d] %q: %w", i, e.Name, err)
			}
			return Document{}, verify.Errorf(verify.ErrMalformed, "reference values[%d] %q: %w", i, e.Name, err)
		}
		d.ReferenceValues = append(d.ReferenceValues, Entry{Name: e.Name, Value: v, Expiration: e.Expiration})
	}
	return d, nil
}

func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return yamlScalar(n)
	case yaml.SequenceNode:
		if len(n.Content) > MaxValuesInEntry {
			return nil, verify.Errorf(verify.ErrLimit, "%d values, limit %d", len(n.Content), MaxValuesInEntry)
		}
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: nested value", c.Line)
			}
			v, err := yamlScalar(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case 0:
		return nil, fmt.Errorf("no value")
	}
	return nil, fmt.Errorf("line %d: expected a scalar or a list of scalars", n.Line)
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, fmt.Errorf("line %d: null value", n.Line)
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return n.Value, nil
}

// boundYAML refuses, with ErrLimit, a YAML document with more than
// MaxDocumentNodes indicators that can open a node: every node after the
// first is introduced by a flow separator or opener (",", "[", "{"), an
// explicit key ("?"), a block sequence entry ("-" before a blank) or a
// mapping value (":" before a blank or a flow indicator, or after a quoted
// or flow key). Such bytes inside scalars and comments are counted too: the
// count is an upper bound, found in one pass without allocating, and
// hexadecimal values, names and timestamps hold none of them.
func boundYAML(doc []byte) error {
	nodes := 0
	for i, c := range doc {
		switch c {
		case ',', '[', '{', '?':
		case '-':
			if !blankAt(doc, i+1) {
				continue
			}
		case ':':
			if !blankAt(doc, i+1) && !flowAt(doc, i+1) && (i == 0 || !strings.ContainsRune(`"']}`, rune(doc[i-1]))) {
				continue
			}
		default:
			continue
		}
		if nodes++; nodes > MaxDocumentNodes {
			return verify.Errorf(verify.ErrLimit, "reference values (YAML): more than %d nodes (byte %d)", MaxDocumentNodes, i)
		}
	}
	return nil
}

// blankAt reports whether doc ends at i or holds a blank or a line break there.
func blankAt(doc []byte, i int) bool {
	return i >= len(doc) || doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r'
}

// flowAt reports whether doc holds a flow indicator at i.
func flowAt(doc []byte, i int) bool {
	return i < len(doc) && strings.IndexByte(",[]{}", doc[i]) >= 0
}
