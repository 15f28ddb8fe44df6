package main

import (
	"context"
	"fmt"

	"path/filepath"
	"strings"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/policy/rego"
	"github.com/trustfactory/attest/serve"
)

// policyFiles collects repeated --policy flags: FILE.rego (id = the file's
// base name without .rego) or ID=FILE.
type policyFiles []string

func (p *policyFiles) String() string { return strings.Join(*p, ",") }

// Set records one --policy flag.
func (p *policyFiles) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty")
	}
	*p = append(*p, v)
	return nil
}

// validFlagPolicyID checks a policy id as the service stores it.
func validFlagPolicyID(id string) bool {
	if id == "" || len(id) > serve.MaxPolicyIDSize || id[0] == '.' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkPolicyFlags refuses an unknown --policy-engine and --policy files
// without the engine that reads them.
func checkPolicyFlags(engine string, files policyFiles) error {
	switch engine {
	case "go":
		if len(files) > 0 {
			return fmt.Errorf("--policy %s needs --policy-engine rego: the Go policy takes no policy text (give --reference-values)", files[0])
		}
		return nil
	case "rego":
		return nil
	}
	return fmt.Errorf("--policy-engine %q: expected go or rego", engine)
}

// applyPolicyFlags sets the policy engine of --policy-engine and the
// policies of --policy on cfg. With rego the service starts with Trustee's
// default policies (stored only when the store has none of that id), each
// --policy file adding a policy or replacing the default of its id, and
// stored as a new version whenever the stored text differs
// (serve.Config.PolicyOverrides); every file must compile. Contradictions are errors
// naming the flags (usage errors).
func applyPolicyFlags(ctx context.Context, engine string, files policyFiles, cfg *serve.Config) error {
	if err := checkPolicyFlags(engine, files); err != nil || engine == "go" {
		return err
	}
	e, err := rego.NewEngine()
	if err != nil {
		return err
	}
	cfg.PolicyEngine = e
	policies := map[string][]byte{}
	none, err := policy.FromEntries()
	if err != nil {
		return err
	}
	given := map[string]string{}
	for _, f := range files {
		id, file, ok := strings.Cut(f, "=")
		if !ok {
			file = f
			id = strings.TrimSuffix(filepath.Base(f), ".rego")
		}
		if !validFlagPolicyID(id) {
			return fmt.Errorf("--policy %s: policy id %q: expected 1 to %d letters, digits, '-', '_' or '.', not starting with '.'", f, id, serve.MaxPolicyIDSize)
		}
		if prev, dup := given[id]; dup {
			return fmt.Errorf("--policy %s: policy id %q given twice (also by --policy %s)", f, id, prev)
		}
		given[id] = f
		text, err := readFlagFile("policy", file, rego.MaxPolicySize)
		if err != nil {
			return err
		}
		if _, err := e.Compile(ctx, id, text, none); err != nil {
			return fmt.Errorf("--policy %s: %w", f, err)
		}
		policies[id] = text
	}
	cfg.PolicyOverrides = policies
	return nil
}
