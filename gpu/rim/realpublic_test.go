package rim_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/trustfactory/attest/verify"
)

// TestRealPublicRIMSignatureVariants changes the structure of a real,
// NVIDIA-signed driver RIM the way a reviewer attacks XML signatures, with
// no key: a second Signature, the Signature moved into the Payload, the
// signed document wrapped in another, the Signature re-pointed at an
// element by Id. Each is refused as ErrMalformed, by structure, before any
// digest is compared; none yields a manifest.
func TestRealPublicRIMSignatureVariants(t *testing.T) {
	doc, err := os.ReadFile(td + "v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	ctx := context.Background()
	if _, err := v.Verify(ctx, doc, v1Time); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	edit := func(f func(root, sig *etree.Element)) []byte {
		t.Helper()
		d := etree.NewDocument()
		if err := d.ReadFromBytes(doc); err != nil {
			t.Fatal(err)
		}
		root := d.Root()
		sig := root.FindElement("./Signature")
		if sig == nil {
			t.Fatal("no Signature under the root")
		}
		f(root, sig)
		out, err := d.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	payload := func(root *etree.Element) *etree.Element {
		for _, c := range root.ChildElements() {
			if c.Tag == "Payload" {
				return c
			}
		}
		t.Fatal("no Payload")
		return nil
	}
	variants := map[string]struct {
		doc   []byte
		kinds []error
	}{
		"second Signature after the first": {edit(func(root, sig *etree.Element) {
			root.AddChild(sig.Copy())
		}), []error{verify.ErrMalformed}},
		"second Signature inside the Payload": {edit(func(root, sig *etree.Element) {
			payload(root).AddChild(sig.Copy())
		}), []error{verify.ErrMalformed}},
		"Signature moved into the Payload": {edit(func(root, sig *etree.Element) {
			root.RemoveChild(sig)
			payload(root).AddChild(sig)
		}), []error{verify.ErrMalformed}},
		"signed document wrapped in another": {func() []byte {
			d := etree.NewDocument()
			if err := d.ReadFromBytes(doc); err != nil {
				t.Fatal(err)
			}
			outer := d.Root().Copy()
			for _, c := range outer.ChildElements() {
				if c.Tag == "Payload" {
					outer.RemoveChild(c)
				}
			}
			outer.AddChild(d.Root().Copy())
			w := etree.NewDocument()
			w.SetRoot(outer)
			b, _ := w.WriteToBytes()
			return b
		}(), []error{verify.ErrMalformed}},
		"reference re-pointed at the Payload by Id": {edit(func(root, sig *etree.Element) {
			payload(root).CreateAttr("Id", "p")
			sig.FindElement("./SignedInfo/Reference").CreateAttr("URI", "#p")
		}), []error{verify.ErrMalformed}},
	}
	for name, tc := range variants {
		m, err := v.Verify(ctx, tc.doc, v1Time)
		if err == nil || m != nil {
			t.Errorf("%s: verified (%v)", name, m)
			continue
		}
		ok := false
		for _, k := range tc.kinds {
			ok = ok || errors.Is(err, k)
		}
		if !ok {
			t.Errorf("%s: %v, want one of %v", name, err, tc.kinds)
		}
		t.Logf("%s: %v", name, err)
	}

	// A comment between elements is not signed content (exclusive of
	// comments, canonicalization drops it): the document verifies and reads
	// exactly as the original (RIM-11).
	want, _ := v.Verify(ctx, doc, v1Time)
	commented := []byte(strings.Replace(string(doc), "<ns0:Payload", "<!-- x --><ns0:Payload", 1))
	got, err := newVerifier(t).Verify(ctx, commented, v1Time)
	if err != nil {
		t.Fatalf("commented: %v", err)
	}
	if len(got.Measurements) != len(want.Measurements) || got.Version != want.Version {
		t.Fatalf("commented document reads differently: %d/%s vs %d/%s", len(got.Measurements), got.Version, len(want.Measurements), want.Version)
	}
	if !reflect.DeepEqual(got.Measurements, want.Measurements) {
		t.Fatal("commented document reads other measurements")
	}
}
