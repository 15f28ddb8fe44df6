package main

import (
	"bytes"
	"context"
	"crypto"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/policy"
)

// The embedded samples: each directory under samples/ holds a sample.json
// manifest, its evidence, and what it needs to verify offline.
//
//go:embed samples
var samplesFS embed.FS

type sampleManifest struct {
	Title           string   `json:"title"`
	Source          string   `json:"source"`
	Now             string   `json:"now"`
	Evidence        []string `json:"evidence"`
	RuntimeData     string   `json:"runtime_data,omitempty"`
	ReportData      string   `json:"report_data,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	ReferenceValues string   `json:"reference_values,omitempty"`
	Collateral      string   `json:"collateral,omitempty"`
	TestRoots       bool     `json:"test_roots,omitempty"`
	OCSPMissing     bool     `json:"ocsp_allow_missing,omitempty"`
	Expect          string   `json:"expect"`
	Sign            bool     `json:"sign,omitempty"`
}

// runSamples appraises every embedded sample and prints its result; the
// composite sample's result is also signed with a fresh key. It exits 0 when
// every sample reached the status its manifest expects.
func runSamples(ctx context.Context, stdout, stderr io.Writer) int {
	ents, err := fs.ReadDir(samplesFS, "samples")
	if err != nil {
		fmt.Fprintln(stderr, "attest verify: samples:", err)
		return exitError
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	code := exitAffirming
	for _, n := range names {
		sub, _ := fs.Sub(samplesFS, path.Join("samples", n))
		if c := runSample(ctx, sub, n, stdout, stderr); c != exitAffirming {
			code = c
		}
	}
	return code
}

func runSample(ctx context.Context, fsys fs.FS, name string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "attest verify: sample %s: %v\n", name, err)
		return exitError
	}
	mb, err := fs.ReadFile(fsys, "sample.json")
	if err != nil {
		return fail(err)
	}
	var m sampleManifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return fail(err)
	}
	now, err := time.Parse(time.RFC3339, m.Now)
	if err != nil {
		return fail(err)
	}
	o := &verifyOptions{hash: crypto.SHA384, now: now, profile: "ietf", ocspMissing: m.OCSPMissing}
	if m.RuntimeData != "" {
		b, err := fs.ReadFile(fsys, m.RuntimeData)
		if err != nil {
			return fail(err)
		}
		o.runtimeDoc = b
	}
	if m.ReportData != "" {
		if o.reportData, err = hex.DecodeString(m.ReportData); err != nil {
			return fail(err)
		}
	}
	if m.Nonce != "" {
		if o.nonce, err = hex.DecodeString(m.Nonce); err != nil {
			return fail(err)
		}
	}
	var evidence []namedEvidence
	for _, f := range m.Evidence {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fail(err)
		}
		evidence = append(evidence, namedEvidence{name: f, data: b})
	}
	var src collateralSources
	if m.Collateral != "" {
		sub, err := fs.Sub(fsys, m.Collateral)
		if err != nil {
			return fail(err)
		}
		if src, err = loadBundle(sub, m.TestRoots); err != nil {
			return fail(err)
		}
	}
	var rv *policy.ReferenceValues
	if m.ReferenceValues != "" {
		b, err := fs.ReadFile(fsys, m.ReferenceValues)
		if err != nil {
			return fail(err)
		}
		if rv, err = policy.ParseReferenceValues(b); err != nil {
			return fail(err)
		}
	}
	reg, err := registry(o, src)
	if err != nil {
		return fail(err)
	}
	out, err := appraiseWith(ctx, o, reg, rv, evidence)
	if err != nil {
		return fail(err)
	}
	if o.ocspMissing {
		markUnsafe(out, string(ocsp.UnsafeMissingAnswers))
	}
	fmt.Fprintf(stdout, "== sample %s: %s\n", name, m.Title)
	if m.Source != "" {
		fmt.Fprintf(stdout, "   %s\n", m.Source)
	}
	fmt.Fprintf(stdout, "   verified at %s\n\n", now.Format(time.RFC3339))
	printHuman(stdout, out, false)
	if m.Sign {
		priv, jwks, err := token.GenerateKey(token.ES256, "attest-sample")
		if err != nil {
			return fail(err)
		}
		tok, err := sign(priv, out)
		if err != nil {
			return fail(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, jwks); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "\nsigned EAR (ES256; the key was generated for this run, JWKS %s):\n%s\n", compact.Bytes(), tok)
	}
	fmt.Fprintln(stdout)
	if out.Status().String() != m.Expect {
		fmt.Fprintf(stderr, "attest verify: sample %s: status %s, expected %s\n", name, out.Status(), m.Expect)
		return exitCode(out.Status())
	}
	return exitAffirming
}
