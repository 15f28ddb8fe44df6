package rego

import (
	"context"
	"embed"
	"maps"
	"strings"
	"time"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Trustee looks a policy up by "<policy id>_<class>", the class being the
// kind of component appraised.
const (
	ClassCPU    = "cpu"    // every CPU TEE (TDX, SNP, TPM, Azure, ...)
	ClassGPU    = "gpu"    // one NVIDIA GPU
	ClassSwitch = "switch" // one NVIDIA NVSwitch
	ClassPPCIe  = "ppcie"  // a protected-PCIe topology of GPUs and switches
)

// Classes lists the classes in Trustee's order.
func Classes() []string { return []string{ClassCPU, ClassGPU, ClassSwitch, ClassPPCIe} }

// FormatPPCIe is the format of a protected-PCIe topology appraisal: its
// claims are "gpu_count" and "switch_count" (PPCIeInput), appraised by the
// ppcie class. Attest's verifiers never emit it; a caller that checked the
// topology (gpu.CheckPPCIeTopology) appraises it as Trustee does.
const FormatPPCIe verify.Format = "nvidia-ppcie"

// ClassOf returns the Trustee class of a format: gpu for NVIDIA GPUs
// (verified locally or by NRAS), switch for NVSwitches, ppcie for
// FormatPPCIe, cpu for every other format.
func ClassOf(f verify.Format) string {
	switch f {
	case verify.FormatGPU, verify.FormatNRASGPU:
		return ClassGPU
	case verify.FormatNVSwitch, verify.FormatNRASSwitch:
		return ClassSwitch
	case FormatPPCIe:
		return ClassPPCIe
	}
	return ClassCPU
}

// PPCIeInput is the policy input of a protected-PCIe topology of gpus GPUs
// and switches NVSwitches, appraised at now.
func PPCIeInput(gpus, switches int, now time.Time) verify.PolicyInput {
	return verify.PolicyInput{Submod: "ppcie0", Format: FormatPPCIe, Now: now,
		Claims: map[string]any{"gpu_count": gpus, "switch_count": switches}}
}

// Input returns the input a Trustee policy reads for in, by class:
//
//   - cpu: in.Map(), the claims nested under the format's name;
//   - gpu and switch: {"nvidia": <the device's claims>}, the flat NVIDIA
//     EAT layout NRAS returns and Trustee's default gpu and switch policies
//     read ("x-nvidia-gpu-attestation-report-signature-verified", "secboot",
//     "dbgstat", "measres", ...). Attest's GPU verifier emits those names
//     (claims 4.0); the one it lacks, "x-nvidia-<device>-<firmware>-rim-
//     schema-validated", is set true wherever attest's own verifier
//     (FormatGPU, FormatNVSwitch; never for NRAS's claims, which carry
//     NVIDIA's own answer) fetched the RIM and verified its signature, because
//     attest reads a RIM only from its signed element and refuses any
//     element or attribute outside the SWID vocabulary, which is what
//     NVIDIA's schema validation vouches for; and a switch's
//     "x-nvidia-switch-attestation-report-cert-chain-fwid-match" is true,
//     as NVIDIA's verifiers and NRAS report it for a report without an FWID
//     entry (an LS10 report carries none: attest's verifier refuses any
//     FWID that does not match and emits false only when there is none to
//     compare, with a warning);
//   - ppcie: {"nvidia": {"gpu_count": M, "switch_count": N}}.
//
// in.Claims is not modified.
func Input(in verify.PolicyInput) map[string]any {
	switch ClassOf(in.Format) {
	case ClassGPU, ClassSwitch:
		if in.Format == verify.FormatGPU || in.Format == verify.FormatNVSwitch {
			return map[string]any{"nvidia": nvidiaDevice(in.Format, in.Claims)}
		}
		// NRAS's claims are its signed token's: what NRAS did not report
		// (schema validation included) nobody vouched for here.
		return map[string]any{"nvidia": maps.Clone(in.Claims)}
	case ClassPPCIe:
		return map[string]any{"nvidia": map[string]any{"gpu_count": in.Claims["gpu_count"], "switch_count": in.Claims["switch_count"]}}
	}
	return in.Map()
}

// nvidiaDevice copies the flat claims of one device attest verified
// locally (format f), adding the RIM schema-validated claims NVIDIA's tools
// report for each RIM attest fetched and whose signature it verified, and
// the switch FWID match they report for a report without an FWID.
func nvidiaDevice(f verify.Format, claims map[string]any) map[string]any {
	m := make(map[string]any, len(claims)+2)
	maps.Copy(m, claims)
	// A switch report attest verified without an FWID entry: NVIDIA's
	// tools skip the comparison and report a match. A report whose FWID
	// differs never gets here (attest's verifier refuses it).
	const switchFWID = "x-nvidia-switch-attestation-report-cert-chain-fwid-match"
	if matched, ok := m[switchFWID].(bool); ok && !matched && f == verify.FormatNVSwitch {
		m[switchFWID] = true
	}
	for _, prefix := range []string{"x-nvidia-gpu-driver-rim-", "x-nvidia-gpu-vbios-rim-", "x-nvidia-switch-bios-rim-"} {
		fetched, _ := m[prefix+"fetched"].(bool)
		verified, _ := m[prefix+"signature-verified"].(bool)
		if !fetched || !verified {
			continue
		}
		if _, ok := m[prefix+"schema-validated"]; !ok {
			m[prefix+"schema-validated"] = true
		}
	}
	return m
}

// Set is Trustee's policy lookup for one policy id: a policy per class,
// each appraising the components of its class (ClassOf). A component whose
// class has no policy is an ErrPolicy error, as Trustee fails a request
// whose policy is missing; it never passes unappraised. A Set is immutable
// and safe for concurrent use.
type Set struct {
	id      string
	byClass map[string]verify.Policy
}

// NewSet returns the set of policy id: byClass maps classes (ClassCPU, ...)
// to their policies. At least one class is required.
func NewSet(id string, byClass map[string]verify.Policy) (*Set, error) {
	if strings.TrimSpace(id) == "" {
		return nil, verify.Errorf(verify.ErrConfig, "rego: empty policy set id")
	}
	if len(byClass) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy set %s has no policy", id)
	}
	s := &Set{id: id, byClass: make(map[string]verify.Policy, len(byClass))}
	for class, p := range byClass {
		if !knownClass(class) {
			return nil, verify.Errorf(verify.ErrConfig, "rego: policy set %s: class %q, expected one of %s", id, class, strings.Join(Classes(), ", "))
		}
		if p == nil {
			return nil, verify.Errorf(verify.ErrConfig, "rego: policy set %s: nil %s policy", id, class)
		}
		s.byClass[class] = p
	}
	return s, nil
}

func knownClass(c string) bool {
	for _, k := range Classes() {
		if c == k {
			return true
		}
	}
	return false
}

// ID returns the policy set's id, e.g. "default".
func (s *Set) ID() string { return s.id }

// Appraise appraises in with the policy of its class.
func (s *Set) Appraise(ctx context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
	if s == nil || s.byClass == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy set not built by NewSet")
	}
	class := ClassOf(in.Format)
	p, ok := s.byClass[class]
	if !ok {
		return nil, verify.Errorf(verify.ErrPolicy, "rego: policy set %s has no policy %s_%s for %s claims", s.id, s.id, class, in.Format)
	}
	return p.Appraise(ctx, in)
}

//go:embed trustee/*.rego
var trusteeFS embed.FS

// DefaultPolicies returns Trustee's default policies, unchanged, by the
// ids Trustee installs them under: default_cpu, default_gpu, default_switch
// and default_ppcie (trustee/README.md gives their provenance).
func DefaultPolicies() map[string]string {
	out := make(map[string]string, 4)
	for _, c := range Classes() {
		b, err := trusteeFS.ReadFile("trustee/ear_default_policy_" + c + ".rego")
		if err != nil {
			// The files are embedded at build time: a missing one is a
			// broken build, not an input.
			panic(err)
		}
		out["default_"+c] = string(b)
	}
	return out
}

// Engine compiles policies for a service that stores them by id, as
// Trustee's attestation service does, and looks up "<id>_<class>" for a
// request naming id. It is immutable and safe for concurrent use.
type Engine struct {
	opts []Option
}

// NewEngine returns an engine whose policies take opts (WithTimeout). The
// engine sets each policy's id and reference values itself: WithID and
// WithReferenceValues are ErrConfig errors here.
func NewEngine(opts ...Option) (*Engine, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			return nil, verify.Errorf(verify.ErrConfig, "rego: nil option")
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.id != "" || c.rvSet {
		return nil, verify.Errorf(verify.ErrConfig, "rego: engine options: WithID and WithReferenceValues are set per policy by the engine")
	}
	return &Engine{opts: append([]Option(nil), opts...)}, nil
}

// Name returns "rego".
func (e *Engine) Name() string { return "rego" }

// Defaults returns DefaultPolicies as bytes.
func (e *Engine) Defaults() map[string][]byte {
	out := map[string][]byte{}
	for id, text := range DefaultPolicies() {
		out[id] = []byte(text)
	}
	return out
}

// Compile compiles the policy text stored under id, with reference values
// rv (nil: none). Its error carries OPA's compiler message.
func (e *Engine) Compile(ctx context.Context, id string, text []byte, rv *policy.ReferenceValues) (verify.Policy, error) {
	opts := append([]Option{WithID(id)}, e.opts...)
	if rv != nil {
		opts = append(opts, WithReferenceValues(rv))
	}
	return New(ctx, string(text), opts...)
}

// Select returns the policy a request naming requestID appraises with: the
// Set of the compiled policies "<requestID>_<class>". It reports false when
// there is none of them.
func (e *Engine) Select(requestID string, compiled map[string]verify.Policy) (verify.Policy, bool) {
	byClass := map[string]verify.Policy{}
	for _, c := range Classes() {
		if p, ok := compiled[requestID+"_"+c]; ok && p != nil {
			byClass[c] = p
		}
	}
	if len(byClass) == 0 {
		return nil, false
	}
	s, err := NewSet(requestID, byClass)
	if err != nil {
		return nil, false
	}
	return s, true
}
