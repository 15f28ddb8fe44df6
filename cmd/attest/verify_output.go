package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// printHuman writes one block per submodule, each check with ✓ or ✗ and its
// reason, then the overall status.
func printHuman(w io.Writer, out *verify.Outcome) {
	for _, s := range out.Submods {
		format := string(s.Format)
		if format == "" {
			format = "unknown format"
		}
		fmt.Fprintf(w, "%s (%s): %s\n", safeText(s.Name), safeText(format), s.Appraisal.Status)
		if s.Err != nil {
			fmt.Fprintf(w, "  ✗ verification failed: %s\n", safeText(s.Err.Error()))
		}
		if s.Policy != nil {
			for _, c := range s.Policy.Checks {
				mark := "✓"
				if !c.OK {
					mark = "✗"
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
				fmt.Fprintln(w, line)
			}
		}
		if u, ok := s.Appraisal.Extensions[ear.ExtUnsafe.Name].([]string); ok && len(u) > 0 {
			fmt.Fprintf(w, "  ! unsafe switches in effect: %s (never affirming)\n", strings.Join(u, ", "))
		}
		fmt.Fprintf(w, "  trust vector: %s\n", vectorText(s.Appraisal.TrustVector))
	}
	fmt.Fprintf(w, "overall: %s\n", out.Status())
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
	for _, c := range ear.Categories {
		if v[c] != ear.NoClaim {
			parts = append(parts, fmt.Sprintf("%s=%d", c, v[c]))
		}
	}
	if parts == nil {
		return "no claims"
	}
	return strings.Join(parts, " ")
}

type jsonCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	OK       bool   `json:"ok"`
	Claim    string `json:"claim,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Category string `json:"category"`
	Value    int    `json:"value"`
}

type jsonSubmod struct {
	Name        string         `json:"name"`
	Format      string         `json:"format,omitempty"`
	Status      string         `json:"status"`
	TrustVector map[string]int `json:"trust_vector"`
	Error       string         `json:"error,omitempty"`
	PolicyID    string         `json:"policy_id,omitempty"`
	Checks      []jsonCheck    `json:"checks,omitempty"`
}

type jsonOutcome struct {
	Status  string       `json:"status"`
	Submods []jsonSubmod `json:"submods"`
	Token   string       `json:"token,omitempty"`
}

func outcomeJSON(out *verify.Outcome, tok []byte) jsonOutcome {
	j := jsonOutcome{Status: out.Status().String(), Token: string(tok)}
	for _, s := range out.Submods {
		js := jsonSubmod{Name: s.Name, Format: string(s.Format), Status: s.Appraisal.Status.String(), TrustVector: map[string]int{}}
		for _, c := range ear.Categories {
			js.TrustVector[c.String()] = int(s.Appraisal.TrustVector[c])
		}
		if s.Err != nil {
			js.Error = s.Err.Error()
		}
		if s.Policy != nil {
			js.PolicyID = s.Policy.PolicyID
			for _, c := range s.Policy.Checks {
				js.Checks = append(js.Checks, jsonCheck{ID: c.ID, Title: c.Title, OK: c.OK, Claim: c.Claim, Expected: c.Expected,
					Actual: c.Actual, Reason: c.Reason, Category: c.Category.String(), Value: int(c.Value)})
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
