package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// aael appraises the Attestation-Agent runtime events the verifier bound to
// RTMR3 (TDX) or to their PCR (TPM, and the vTPM of an Azure confidential
// VM), claim "aael" ({"<domain>/<operation>":
// [content, …]}). With the reference value aael_allowed, a list of
// "<domain> <operation> <content>" lines, every event must be listed
// (executables 96 otherwise). Contents compare as parsed JSON when both
// parse (the agent's content is not always canonical JSON), else byte for
// byte. A TDX RTMR3 accepted without log entries (rtmr3_unlogged) cannot be
// held to the list: executables 33, as is an "aael" claim of any other
// shape (its events cannot be read, and none would pass). Without
// aael_allowed the events are recorded, not appraised.
func (e *eval) aael() {
	allowed := e.rv.Lookup("aael_allowed", e.now)
	raw := e.in.Claims["aael"]
	logged := raw != nil // a null claim is no log either
	events, readable := aaelEvents(raw)
	c := verify.Check{ID: "aael.allowed", Title: "Attestation-Agent runtime events (AAEL) allowed", Claim: "aael", Category: ear.Executables}
	if len(allowed) == 0 {
		if len(events) > 0 {
			c.OK = true
			c.Actual = strings.Join(events, "\n")
			c.Reason = "not pinned (no reference value aael_allowed)"
			e.add(c)
		}
		return
	}
	c.Expected = strings.Join(allowed, "\n")
	if unlogged, _ := e.in.Claims["rtmr3_unlogged"].(bool); unlogged {
		c.Value = ear.UnrecognizedRuntime
		c.Reason = "RTMR3 was accepted without event-log entries: its runtime events cannot be checked against aael_allowed"
		e.add(c)
		return
	}
	if logged && !readable {
		// A claim the rules cannot read lists no event, and an empty list
		// would pass: a shape other than the verifiers' is no pass.
		c.Value = ear.UnrecognizedRuntime
		c.Reason = fmt.Sprintf("claim aael is not {\"<domain>/<operation>\": [text, …]} (%T): its events cannot be checked against aael_allowed", raw)
		e.add(c)
		return
	}
	if !logged {
		if reg, extended := e.unloggedRuntimeRegister(); extended {
			// No AA event log came with the evidence, yet the register the
			// agent extends holds events: omitting the log must not be a
			// way around the list.
			c.Value = ear.UnrecognizedRuntime
			c.Reason = reg + " holds runtime events but no AA event log vouches for them: they cannot be checked against aael_allowed"
			e.add(c)
			return
		}
	}
	var bad []string
	for _, ev := range events {
		if !aaelListed(ev, allowed) {
			bad = append(bad, ev)
		}
	}
	c.Actual = strings.Join(events, "\n")
	if len(bad) > 0 {
		c.Value = ear.ContraindicatedRuntime
		c.Reason = "events not in aael_allowed: " + strings.Join(bad, "; ")
	} else {
		c.OK = true
		c.Reason = "every runtime event is in aael_allowed"
	}
	e.add(c)
}

// unloggedRuntimeRegister reports whether the register the Attestation
// Agent extends holds events that no log replayed: on TDX, RTMR3 when no CC
// event log replayed it (no claim rtmr3_unlogged) and it is not all zero; on
// a TPM or an Azure VM's vTPM, a PCR 16..23 (the agent's: 17 by default, 23
// on Azure) that holds neither reset value. It names the register.
func (e *eval) unloggedRuntimeRegister() (string, bool) {
	extended := func(v any) bool {
		s, ok := v.(string)
		return ok && strings.Trim(s, "0") != "" && strings.Trim(strings.ToLower(s), "f") != ""
	}
	if e.in.Format == verify.FormatTDX {
		if _, replayed := e.in.Claims["rtmr3_unlogged"]; replayed {
			return "", false
		}
		return "RTMR3", extended(e.in.Claims["quote.body.rtmr_3"])
	}
	for i := 16; i <= 23; i++ {
		k := fmt.Sprintf("pcr%02d", i)
		if extended(e.in.Claims[k]) {
			return "PCR " + strconv.Itoa(i), true
		}
	}
	return "", false
}

// aaelEvents flattens the "aael" claim into "<domain> <operation> <content>"
// lines, sorted by domain and operation, then in log order. readable is
// false when v is not in the verifiers' shape (an absent claim is readable
// and empty): a key without "/", a list of anything but text, or another
// type, which would otherwise list no event and pass.
func aaelEvents(v any) (events []string, readable bool) {
	if v == nil {
		return nil, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		i := strings.LastIndex(k, "/")
		if i < 0 {
			return nil, false
		}
		prefix := k[:i] + " " + k[i+1:] + " "
		switch list := m[k].(type) {
		case []any:
			for _, c := range list {
				s, ok := c.(string)
				if !ok {
					return nil, false
				}
				out = append(out, prefix+s)
			}
		case []string:
			for _, s := range list {
				out = append(out, prefix+s)
			}
		default:
			return nil, false
		}
	}
	return out, true
}

// aaelListed reports whether the event line is among the allowed lines:
// domain and operation equal, contents equal as JSON values when both parse
// as JSON, else as bytes.
func aaelListed(event string, allowed []string) bool {
	d, op, content := splitAAEL(event)
	for _, a := range allowed {
		ad, aop, acontent := splitAAEL(a)
		if ad != d || aop != op {
			continue
		}
		if acontent == content {
			return true
		}
		var x, y any
		if json.Unmarshal([]byte(content), &x) == nil && json.Unmarshal([]byte(acontent), &y) == nil && reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}

func splitAAEL(s string) (domain, op, content string) {
	domain, rest, _ := strings.Cut(s, " ")
	op, content, _ = strings.Cut(rest, " ")
	return domain, op, content
}
