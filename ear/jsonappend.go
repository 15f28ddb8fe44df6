package ear

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// maxAppendDepth is how deep appendJSON recurses into nested maps and
// slices before it hands a value to encoding/json, which detects cycles.
const maxAppendDepth = 32

// appendJSON appends v as encoding/json encodes it with HTML escaping off
// (map keys sorted, byte-wise). The claims set of a signed token is built on
// the critical path of every appraisal, after its last device verifies:
// reflection and a sort buffer per map made it a third of signing's cost.
// Only exact types whose encoding is trivially the same are written here;
// anything else (named types, json.Marshaler, floats, strings needing
// escapes, deep nesting) goes to encoding/json, so the bytes are identical.
func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxAppendDepth {
		return appendStdJSON(b, v)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x)
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONObject(b, x, func(b []byte, k string) ([]byte, error) { return appendJSON(b, x[k], depth+1) })
	case map[string]string:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONObject(b, x, func(b []byte, k string) ([]byte, error) { return appendJSONString(b, x[k]) })
	case map[string]int:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONObject(b, x, func(b []byte, k string) ([]byte, error) { return strconv.AppendInt(b, int64(x[k]), 10), nil })
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONArray(b, x, func(b []byte, e any) ([]byte, error) { return appendJSON(b, e, depth+1) })
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONArray(b, x, appendJSONString)
	}
	return appendStdJSON(b, v)
}

func appendJSONObject[V any](b []byte, m map[string]V, value func([]byte, string) ([]byte, error)) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // encoding/json's order: byte-wise
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendJSONString(b, k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = value(b, k); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendJSONArray[E any](b []byte, s []E, elem func([]byte, E) ([]byte, error)) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, e := range s {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = elem(b, e); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendJSONString writes s quoted when it is printable ASCII without a
// quote or backslash (nothing to escape), and leaves any other string to
// encoding/json.
func appendJSONString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return appendStdJSON(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// appendStdJSON appends encoding/json's encoding of v, HTML escaping off.
func appendStdJSON(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
