package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trustfactory/attest/ear/token"
)

// schemaNode is the subset of JSON Schema (2020-12) that
// schema/verify-v1.json uses; validate refuses any other keyword, so the
// schema cannot grow a rule this test would silently skip.
type schemaNode map[string]any

var schemaKeywords = []string{"$schema", "$id", "$defs", "$ref", "title", "description", "type", "enum",
	"required", "properties", "additionalProperties", "items"}

func validate(root, s schemaNode, v any, at string) []string {
	for k := range s {
		if !slices.Contains(schemaKeywords, k) {
			return []string{fmt.Sprintf("%s: schema keyword %q not supported by this validator", at, k)}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		defs, _ := root["$defs"].(map[string]any)
		def, ok := defs[name].(map[string]any)
		if !found || !ok {
			return []string{fmt.Sprintf("%s: unresolvable $ref %q", at, ref)}
		}
		return validate(root, def, v, at)
	}
	var errs []string
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			return []string{fmt.Sprintf("%s: %T is not of type %v", at, v, types)}
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v not in %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					errs = append(errs, fmt.Sprintf("%s: %q required", at, r))
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, x := range v {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(root, p, x, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: property %q not allowed", at, k))
				}
			case map[string]any:
				errs = append(errs, validate(root, ap, x, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, validate(root, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

func loadSchema(t *testing.T) schemaNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("schema", "verify-v1.json"))
	require.NoError(t, err)
	var s schemaNode
	require.NoError(t, json.Unmarshal(b, &s))
	require.Equal(t, jsonSchemaID, s["$id"], "the output names the schema by its $id")
	return s
}

// The validator catches what it must: a wrong type, a missing field, an
// unknown field, a value outside an enum.
func TestSchemaValidatorRejects(t *testing.T) {
	s := loadSchema(t)
	for name, doc := range map[string]string{
		"missing version": `{"schema":"` + jsonSchemaID + `","status":"affirming","submods":[]}`,
		"wrong version":   `{"schema":"` + jsonSchemaID + `","version":2,"status":"affirming","submods":[]}`,
		"unknown status":  `{"schema":"` + jsonSchemaID + `","version":1,"status":"fine","submods":[]}`,
		"extra field":     `{"schema":"` + jsonSchemaID + `","version":1,"status":"none","submods":[],"x":1}`,
		"error as text":   `{"schema":"` + jsonSchemaID + `","version":1,"status":"none","submods":[{"name":"a","status":"none","trust_vector":{},"error":"boom"}]}`,
		"unknown kind":    `{"schema":"` + jsonSchemaID + `","version":1,"status":"none","submods":[{"name":"a","status":"none","trust_vector":{},"error":{"kind":"oops","message":"m"}}]}`,
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(doc), &v))
		assert.NotEmpty(t, validate(s, s, v, "$"), name)
	}
}

// The --json output of real evidence, of a failed verification and of the
// embedded composite with a token is valid against schema/verify-v1.json,
// and carries the claims and error kinds it promises.
func TestVerifyJSONSchema(t *testing.T) {
	s := loadSchema(t)
	quote, args := realTDX(t)
	dir := sampleDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	keyFile := writeTestFile(t, t.TempDir(), "k.jwk", mustKey(t))
	for name, a := range map[string][]string{
		"real tdx":          append(slices.Clone(args), quote),
		"freshness failure": append(slices.Clone(args[:6]), "--report-data", strings.Repeat("ab", 64), quote),
		"composite with token": {"--now", "2025-06-15T00:00:00Z", "--collateral-dir", p("collateral"), "--trust-bundle-roots-unsafe",
			"--reference-values", p("reference-values.yaml"), "--runtime-data", p("runtime-data.json"), "--key", keyFile,
			p("tdx-evidence.json"), p("gpu-evidence.json")},
	} {
		t.Run(name, func(t *testing.T) {
			_, out, errs := verifyCmd(t, nil, append([]string{"--json"}, a...)...)
			var v map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &v), errs)
			assert.Empty(t, validate(s, s, v, "$"))
			assert.Equal(t, jsonSchemaID, v["schema"])
			assert.EqualValues(t, 1, v["version"])
		})
	}
	_, out, _ := verifyCmd(t, nil, append(append([]string{"--json"}, args...), quote)...)
	var j jsonOutcome
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	require.Len(t, j.Submods, 1)
	c := j.Submods[0].Claims
	assert.Equal(t, "UpToDate", c["tcb_status"])
	assert.Equal(t, "b0c06f000000", c["pck.fmspc"])
	assert.Contains(t, c, "quote.header.version")
	_, out, _ = verifyCmd(t, nil, append(append([]string{"--json"}, args[:6]...), "--report-data", strings.Repeat("ab", 64), quote)...)
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	require.NotNil(t, j.Submods[0].Error)
	assert.Equal(t, "freshness", j.Submods[0].Error.Kind)
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	priv, _, err := token.GenerateKey(token.ES256, "k1")
	require.NoError(t, err)
	return priv
}
