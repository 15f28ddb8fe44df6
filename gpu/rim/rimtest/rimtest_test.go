package rimtest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

var at = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)

func TestMintedRIMHasNVIDIAShape(t *testing.T) {
	pki, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[int][]byte{8: bytes.Repeat([]byte{7}, 48)}
	doc, err := pki.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(blocks, 64, 7)})
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	sig := d.Root().FindElement("./Signature")
	if sig == nil || sig.Space != "ds" {
		t.Fatal("no ds:Signature as the root's child")
	}
	for path, want := range map[string]string{
		"./SignedInfo/CanonicalizationMethod":         "http://www.w3.org/2006/12/xml-c14n11",
		"./SignedInfo/SignatureMethod":                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
		"./SignedInfo/Reference/DigestMethod":         "http://www.w3.org/2001/04/xmldsig-more#sha384",
		"./SignedInfo/Reference/Transforms/Transform": "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
	} {
		if got := sig.FindElement(path).SelectAttrValue("Algorithm", ""); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	if uri := sig.FindElement("./SignedInfo/Reference").SelectAttr("URI"); uri == nil || uri.Value != "" {
		t.Error(`Reference URI is not ""`)
	}
	if n := len(sig.FindElements("./KeyInfo/X509Data/X509Certificate")); n != 4 {
		t.Errorf("%d embedded certificates, want 4", n)
	}
	v, err := rim.NewVerifier(rim.WithRoots(pki.Root))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v.Verify(context.Background(), doc, at)
	if err != nil {
		t.Fatal(err)
	}
	if act := m.Active(); len(act) != 1 || !bytes.Equal(act[7].Alternatives[0], blocks[8]) {
		t.Fatalf("active entries: %v", act)
	}
}

func TestDERToRaw(t *testing.T) {
	pki, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum384([]byte("x"))
	der, err := ecdsa.SignASN1(rand.Reader, pki.SignerKey, h[:])
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rimtest.DERToRaw(der, 48)
	if err != nil || len(raw) != 96 {
		t.Fatalf("DERToRaw: %d bytes, %v", len(raw), err)
	}
	if _, err := rimtest.DERToRaw(append(der, 0), 48); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestService(t *testing.T) {
	const id = "NV_GPU_DRIVER_GH100_1.0"
	doc := []byte("<SoftwareIdentity/>")
	svc := rimtest.NewService(map[string][]byte{id: doc})
	defer svc.Close()
	resp, err := http.Get(svc.URL + "/v1/rim/" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r map[string]string
	if err := json.Unmarshal(body, &r); err != nil || r["id"] != id || r["rim_format"] != "TCG" || r["sha256"] == "" {
		t.Fatalf("answer %s: %v", body, err)
	}
	src, err := rim.NewHTTPSource(svc.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Get(context.Background(), id)
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Get: %q, %v", got, err)
	}
	if _, err := src.Get(context.Background(), "NV_GPU_DRIVER_GH100_2.0"); !errors.Is(err, collateral.ErrNotFound) || !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("unknown ID: %v", err)
	}
	if svc.Requests() != 3 {
		t.Fatalf("%d requests", svc.Requests())
	}
}
