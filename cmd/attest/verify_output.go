package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// printHuman writes one block per submodule, each check with its mark and
// reason, then the overall status. Marks: ✓ checked and met, ✗ checked and
// not met, – not checked (no reference value pinned, or a check an unsafe
// switch turned off). Consecutive GPU or switch blocks that read the same
// are printed once, naming every device, unless expand.
func printHuman(w io.Writer, out *verify.Outcome, expand bool) {
	type block struct {
		names  []string
		header string // after the names
		body   string
		fold   bool
	}
	var blocks []*block
	for _, s := range out.Submods {
		format := string(s.Format)
		if format == "" {
			format = "unknown format"
		}
		b := &block{names: []string{safeText(s.Name)}, header: fmt.Sprintf(" (%s): %s", safeText(format), s.Appraisal.Status),
			body: submodBody(s), fold: !expand && isDevice(s.Format)}
		if n := len(blocks); n > 0 && b.fold && blocks[n-1].fold && blocks[n-1].header == b.header && blocks[n-1].body == b.body {
			blocks[n-1].names = append(blocks[n-1].names, b.names...)
			continue
		}
		blocks = append(blocks, b)
	}
	for _, b := range blocks {
		fmt.Fprintf(w, "%s%s\n", strings.Join(b.names, ", "), b.header)
		if len(b.names) > 1 {
			fmt.Fprintf(w, "  (%d devices with identical results, shown once; --expand shows each)\n", len(b.names))
		}
		fmt.Fprint(w, b.body)
	}
	fmt.Fprintf(w, "overall: %s\n", out.Status())
}

// Marks of the human output.
const (
	markOK         = "✓"
	markFailed     = "✗"
	markNotChecked = "–"
)

// submodBody renders a submodule's lines after its header.
func submodBody(s *verify.SubmodOutcome) string {
	var w strings.Builder
	if s.Err != nil {
		kind := kindName(s.Err)
		fmt.Fprintf(&w, "  %s verification failed (%s): %s\n", markFailed, kind, safeText(dedupe(s.Err.Error())))
	}
	for _, c := range cryptoChecks(s) {
		fmt.Fprintf(&w, "  %s %-34s %s\n", c.mark, c.id, c.text)
	}
	if s.Policy != nil {
		for _, c := range s.Policy.Checks {
			mark := markOK
			switch {
			case !c.OK:
				mark = markFailed
			case strings.HasPrefix(c.Reason, "not pinned"):
				mark = markNotChecked
			}
			line := fmt.Sprintf("  %s %-34s %s", mark, safeText(c.ID), safeText(c.Title))
			var detail []string
			if c.Reason != "" {
				detail = append(detail, safeText(c.Reason))
			}
			if !c.OK && (c.Expected != "" || c.Actual != "") {
				detail = append(detail, fmt.Sprintf("expected %s, got %s", safeText(short(c.Expected)), orAbsent(safeText(short(c.Actual)))))
			}
			if c.Value != ear.NoClaim {
				detail = append(detail, fmt.Sprintf("%s=%d", c.Category, c.Value))
			}
			if len(detail) > 0 {
				line += ": " + strings.Join(detail, "; ")
			}
			fmt.Fprintln(&w, line)
		}
	}
	if u, ok := s.Appraisal.Extensions[ear.ExtUnsafe().Name].([]string); ok && len(u) > 0 {
		fmt.Fprintf(&w, "  ! unsafe switches in effect: %s (never affirming)\n", strings.Join(u, ", "))
	}
	fmt.Fprintf(&w, "  trust vector: %s\n", vectorText(s.Appraisal.TrustVector))
	return w.String()
}

// cryptoLine is one cryptographic check a verifier made (or skipped).
type cryptoLine struct{ mark, id, text string }

// cryptoChecks lists the cryptographic checks behind verified TDX and
// SEV-SNP claims, which the policy's checks do not show (the GPU's have
// their own policy checks). A verifier returns claims only when every
// check it made held, so each is ✓ unless the claims say it was skipped.
// The roots are "trusted", not "pinned": the embedded samples and
// --trust-bundle-roots-unsafe replace the vendors' (the latter says so).
func cryptoChecks(s *verify.SubmodOutcome) []cryptoLine {
	m := s.ClaimMap()
	if s.Err != nil || m == nil {
		return nil
	}
	str := func(k string) string { v, _ := m[k].(string); return safeText(v) }
	switch s.Format {
	case verify.FormatTDX:
		l := []cryptoLine{
			{markOK, "tdx.quote_signature", "quote body signed by the QE attestation key"},
			{markOK, "tdx.qe_report", "QE report signed by the PCK key, binding the attestation key"},
			{markOK, "tdx.pck_chain", fmt.Sprintf("PCK certificate chain (%s CA) to the trusted SGX root CA; FMSPC %s", str("pck.ca"), str("pck.fmspc"))},
		}
		if _, ok := m["tcb_status"]; !ok {
			return append(l,
				cryptoLine{markNotChecked, "tdx.collateral", "TCB info and QE identity not checked (--tdx-without-collateral-unsafe)"},
				cryptoLine{markNotChecked, "tdx.crls", "PCK and root CA CRLs not checked (--tdx-without-collateral-unsafe)"})
		}
		l = append(l, cryptoLine{markOK, "tdx.collateral", fmt.Sprintf("TCB info and QE identity signed by the TCB signing key, chained to the same root; TCB status %s, QE %s, evaluation data number %v",
			str("tcb_status"), str("qe_tcb_status"), m["tcb_eval_num"])})
		if ok, _ := m["crls_checked"].(bool); ok {
			return append(l, cryptoLine{markOK, "tdx.crls", fmt.Sprintf("PCK not revoked: PCK CRL #%v and root CA CRL #%v verified", m["pck_crl_num"], m["root_ca_crl_num"])})
		}
		return append(l, cryptoLine{markNotChecked, "tdx.crls", "PCK and root CA CRLs not checked (unsafe switch)"})
	case verify.FormatSNP:
		l := []cryptoLine{
			{markOK, "snp.report_signature", fmt.Sprintf("report signed by the %s", str("signing_key"))},
			{markOK, "snp.chain", fmt.Sprintf("%s certificate chain to the trusted AMD ARK (%s)", str("signing_key"), str("product"))},
		}
		if ok, _ := m["revocation_checked"].(bool); ok {
			return append(l, cryptoLine{markOK, "snp.crl", "ASK/ASVK not revoked: AMD's CRL verified"})
		}
		return append(l, cryptoLine{markNotChecked, "snp.crl", "ASK/ASVK revocation not checked (--snp-without-revocation-unsafe)"})
	}
	return nil
}

// flagWords names, in a library message, the attest verify flags where
// the message names the Go options they set: the user configures flags.
var flagWords = strings.NewReplacer(
	"configure WithKDS, or WithoutRevocationUnsafe", "give --collateral-dir or --online, or --snp-without-revocation-unsafe",
	"no collateral source is configured (WithKDS)", "no collateral is configured (give --collateral-dir or --online)",
	"no WithProduct was given", "no --snp-product was given",
	"use WithCollateral (or WithoutCollateralUnsafe)", "give --collateral-dir or --online (or --tdx-without-collateral-unsafe)",
	"Expectations.ReportData", "--report-data, --nonce or --runtime-data",
	"AllowMissingReportDataUnsafe", "--no-binding-unsafe",
)

// dedupe drops the parts of a wrapped error message that repeat an earlier
// part word for word, as layers that each name the same URL or kind
// produce; the first occurrence stays where it was.
func dedupe(msg string) string {
	parts := strings.Split(msg, ": ")
	seen := make(map[string]bool, len(parts))
	kept := parts[:0]
	for _, p := range parts {
		if seen[p] {
			continue
		}
		seen[p] = true
		kept = append(kept, p)
	}
	return flagWords.Replace(dedupeURLs(strings.Join(kept, ": ")))
}

// urlPattern finds URLs in an error message (up to a quote or space).
var urlPattern = regexp.MustCompile(`https?://[^\s"']*[^\s"':,.;)]`)

// dedupeURLs replaces every repetition of a URL already in msg by "(same
// URL)": an OCSP query's URL carries the whole request and each layer of a
// failed fetch (the fetcher, net/http) names it again.
func dedupeURLs(msg string) string {
	seen := map[string]bool{}
	return urlPattern.ReplaceAllStringFunc(msg, func(u string) string {
		if seen[u] {
			return "(same URL)"
		}
		seen[u] = true
		return u
	})
}

// safeText escapes control and other non-graphic characters: claim values
// come from evidence or from a token not yet verified, and control sequences
// must not reach the terminal (they could erase a warning or forge a
// "verified" line).
func safeText(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) < 0 {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

func orAbsent(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func short(s string) string {
	if len(s) > 100 {
		return s[:97] + "…"
	}
	return s
}

func vectorText(v ear.TrustVector) string {
	var parts []string
	for _, c := range ear.Categories() {
		if v[c] != ear.NoClaim {
			parts = append(parts, fmt.Sprintf("%s=%d", c, v[c]))
		}
	}
	if parts == nil {
		return "no claims"
	}
	return strings.Join(parts, " ")
}

// The identity of the JSON output's shape: schema/verify-v1.json
// describes it, and a change that breaks a reader gets a new version.
const (
	jsonSchemaID      = "https://github.com/trustfactory/attest/schema/verify-v1.json"
	jsonSchemaVersion = 1
)

type jsonCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	OK       bool   `json:"ok"`
	Checked  bool   `json:"checked"`
	Claim    string `json:"claim,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Category string `json:"category"`
	Value    int    `json:"value"`
}

type jsonError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

type jsonSubmod struct {
	Name        string         `json:"name"`
	Format      string         `json:"format,omitempty"`
	Status      string         `json:"status"`
	TrustVector map[string]int `json:"trust_vector"`
	Error       *jsonError     `json:"error,omitempty"`
	PolicyID    string         `json:"policy_id,omitempty"`
	Checks      []jsonCheck    `json:"checks,omitempty"`
	Claims      map[string]any `json:"claims,omitempty"`
	Unsafe      []string       `json:"unsafe,omitempty"`
}

type jsonOutcome struct {
	Schema  string       `json:"schema"`
	Version int          `json:"version"`
	Status  string       `json:"status"`
	Submods []jsonSubmod `json:"submods"`
	Token   string       `json:"token,omitempty"`
}

// kindNames are the stable names of the error kinds in the JSON output and
// the human one; a reader may switch on them.
var kindNames = map[error]string{
	verify.ErrCanceled: "canceled", verify.ErrSignature: "signature", verify.ErrChain: "chain",
	verify.ErrRevoked: "revoked", verify.ErrExpired: "expired", verify.ErrTCB: "tcb",
	verify.ErrFreshness: "freshness", verify.ErrBinding: "binding", verify.ErrPolicy: "policy",
	verify.ErrToken: "token", verify.ErrLimit: "limit", verify.ErrMalformed: "malformed",
	verify.ErrUnsupported: "unsupported", verify.ErrCollateral: "collateral", verify.ErrConfig: "config",
}

// kindName is the stable name of err's kind, "unknown" when it has none.
func kindName(err error) string {
	if n, ok := kindNames[verify.KindOf(err)]; ok {
		return n
	}
	return "unknown"
}

// scalarClaims are the claims of a submodule that are one value (text,
// number, truth) or a list of texts: TCB status, FMSPC, versions,
// measurements. Nested structures (event logs) stay in the token's
// annotated evidence (--verbose-token).
func scalarClaims(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string, bool, int, int64, uint64, uint32, uint16, uint8, float64:
			out[k] = v
		case []string:
			out[k] = slices.Clone(v)
		}
	}
	return out
}

func outcomeJSON(out *verify.Outcome, tok []byte) jsonOutcome {
	j := jsonOutcome{Schema: jsonSchemaID, Version: jsonSchemaVersion, Status: out.Status().String(), Token: string(tok), Submods: []jsonSubmod{}}
	for _, s := range out.Submods {
		js := jsonSubmod{Name: s.Name, Format: string(s.Format), Status: s.Appraisal.Status.String(), TrustVector: map[string]int{},
			Claims: scalarClaims(s.ClaimMap())}
		for _, c := range ear.Categories() {
			js.TrustVector[c.String()] = int(s.Appraisal.TrustVector[c])
		}
		if s.Err != nil {
			js.Error = &jsonError{Kind: kindName(s.Err), Message: dedupe(s.Err.Error())}
		}
		if u, ok := s.Appraisal.Extensions[ear.ExtUnsafe().Name].([]string); ok {
			js.Unsafe = slices.Clone(u)
		}
		if s.Policy != nil {
			js.PolicyID = s.Policy.PolicyID
			for _, c := range s.Policy.Checks {
				js.Checks = append(js.Checks, jsonCheck{ID: c.ID, Title: c.Title, OK: c.OK, Checked: !strings.HasPrefix(c.Reason, "not pinned"),
					Claim: c.Claim, Expected: c.Expected, Actual: c.Actual, Reason: c.Reason, Category: c.Category.String(), Value: int(c.Value)})
			}
		}
		j.Submods = append(j.Submods, js)
	}
	return j
}

func printJSON(w io.Writer, out *verify.Outcome, tok []byte) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(outcomeJSON(out, tok))
}
