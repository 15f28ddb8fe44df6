package ear

import "testing"

// Red-team: NewRegistry registered the values of exported Ext… variables,
// so a caller that reassigned one changed every registry built after it (and
// the names attest's decisions looked results up by). They are functions
// now; a changed copy changes nothing.
func TestRedteamRegistriesIgnoreChangedCopies(t *testing.T) {
	e := ExtUnsafe()
	e.Name, e.Key = "renamed_by_someone", -70000
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []*Registry{r, DefaultRegistry()} {
		if e, ok := reg.Lookup(ExtUnsafeName); !ok || e.Key != -65538 {
			t.Fatalf("%s: %+v, %v", ExtUnsafeName, e, ok)
		}
		if _, ok := reg.Lookup("renamed_by_someone"); ok {
			t.Fatal("the changed name is registered")
		}
	}
	if ExtUnsafe().Name != ExtUnsafeName || ExtReason().Name != ExtReasonName || ExtTEEPubKey().Name != ExtTEEPubKeyName || ExtChecks().Name != ExtChecksName {
		t.Fatal("the functions and the constants disagree")
	}
}
