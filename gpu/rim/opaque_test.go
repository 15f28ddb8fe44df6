package rim_test

import (
	"testing"

	"github.com/trustfactory/attest/verify"
)

// The opaque-data RIM attributes (namespace
// https://docs.nvidia.com/attestation/specs/latest/opaque-data.html) carry
// numeric floors such as a minimum FSP microcode SVN. Their XML encoding is
// not published in what this package was written from, so a signed RIM
// carrying them, on a measurement slot or on an opaque record above the 64
// SPDM slots, is refused as ErrUnsupported: a floor is never silently
// ignored.
func TestRIMOpaqueDataAttributesRefused(t *testing.T) {
	f := newFixture(t)
	u := f.unsignedDriver()
	const ns3 = `xmlns:ns3="https://docs.nvidia.com/attestation/specs/latest/opaque-data.html"`
	const r7 = `<ns0:Resource type="Measurement" index="7" active="True" alternatives="1"`
	cases := map[string][]byte{
		"ns3 attribute on a measurement": replaceOnce(t, u, r7, `<ns0:Resource `+ns3+` ns3:minSvn="5" type="Measurement" index="7" active="True" alternatives="1"`),
		"opaque record above slot 63": replaceOnce(t, u, "    </ns0:Payload>",
			`        <ns0:Resource `+ns3+` type="Measurement" index="101" active="True" alternatives="1" ns3:minSvn="5" name="FSP_UCODE_MIN_SVN" size="2"/>`+"\n    </ns0:Payload>"),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, f.sign(t, doc))
			wantKind(t, m, err, verify.ErrUnsupported)
		})
	}
}
