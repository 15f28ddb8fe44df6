package ear

import "testing"

// Red-team: NewRegistry registered the values of the exported Ext…
// variables, so a caller that reassigned one changed every registry built
// after it (and the names attest's decisions looked results up by).
func TestRedteamRegistriesIgnoreReassignedVariables(t *testing.T) {
	saved := ExtUnsafe
	defer func() { ExtUnsafe = saved }()
	ExtUnsafe.Name, ExtUnsafe.Key = "renamed_by_someone", -70000
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []*Registry{r, DefaultRegistry()} {
		if e, ok := reg.Lookup(ExtUnsafeName); !ok || e.Key != -65538 {
			t.Fatalf("%s: %+v, %v", ExtUnsafeName, e, ok)
		}
		if _, ok := reg.Lookup("renamed_by_someone"); ok {
			t.Fatal("the reassigned name is registered")
		}
	}
	if saved.Name != ExtUnsafeName || ExtReason.Name != ExtReasonName || ExtTEEPubKey.Name != ExtTEEPubKeyName || ExtChecks.Name != ExtChecksName {
		t.Fatal("the variables and the constants disagree")
	}
}
