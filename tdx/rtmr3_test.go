package tdx_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

type ccelEvent struct {
	mr   uint32
	data []byte
}

// buildCCEL returns a SHA-384-only CC event log of EV_EVENT_TAG events whose
// digests are SHA-384 of their data, and the RTMRs it replays to.
func buildCCEL(events ...ccelEvent) ([]byte, [4][48]byte) {
	var b []byte
	spec := append([]byte("Spec ID Event03\x00"), 0, 0, 0, 0, 0, 2, 0, 2)
	spec = binary.LittleEndian.AppendUint32(spec, 1)
	spec = binary.LittleEndian.AppendUint16(spec, 0x000c)
	spec = binary.LittleEndian.AppendUint16(spec, 48)
	spec = append(spec, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 3) // EV_NO_ACTION
	b = append(b, make([]byte, 20)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(spec)))
	b = append(b, spec...)
	var rtmr [4][48]byte
	for _, e := range events {
		d := sha512.Sum384(e.data)
		b = binary.LittleEndian.AppendUint32(b, e.mr)
		b = binary.LittleEndian.AppendUint32(b, 6) // EV_EVENT_TAG
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0x000c)
		b = append(b, d[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.data)))
		b = append(b, e.data...)
		h := sha512.New384()
		h.Write(rtmr[e.mr-1][:])
		h.Write(d[:])
		h.Sum(rtmr[e.mr-1][:0])
	}
	return append(b, make([]byte, 8)...), rtmr
}

func trusteeEvidence(quote, ccel []byte) []byte {
	b, _ := json.Marshal(map[string]string{"quote": base64.StdEncoding.EncodeToString(quote), "cc_eventlog": base64.StdEncoding.EncodeToString(ccel)})
	return b
}

// WithUnloggedRTMR3Unsafe: RTMR3 extended without log entries is accepted
// only with the option, and then marked; RTMR3 entries that are in the log
// are still replayed, so no unreplayed event reaches the claims.
func TestUnloggedRTMR3(t *testing.T) {
	f := newFixture(t)
	ccel, rtmr := buildCCEL(ccelEvent{1, []byte("firmware")}, ccelEvent{2, []byte("loader")}, ccelEvent{3, []byte("kernel")})
	s := f.pki.DefaultQuote(nonce)
	s.Body.RTMR = rtmr
	s.Body.RTMR[3][0] = 0x33 // extended by a runtime agent that keeps no CCEL entries
	ev := trusteeEvidence(f.pki.Quote(s), ccel)

	c, err := verifyQuote(t, f.verifier(t), ev, exp())
	if !errors.Is(err, verify.ErrBinding) || c != nil {
		t.Fatalf("without the option: claims %v, err %v; want ErrBinding", c != nil, err)
	}
	c, err = verifyQuote(t, f.verifier(t, tdx.WithUnloggedRTMR3Unsafe()), ev, exp())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["rtmr3_unlogged"] != true || !slices.Contains(c.Unsafe, tdx.UnsafeUnloggedRTMR3) || c.EventLog.Replayed[3] != s.Body.RTMR[3] {
		t.Fatalf("unlogged RTMR3 not marked: %v %v", m["rtmr3_unlogged"], c.Unsafe)
	}

	// A log that does carry RTMR3 events must replay them, option or not.
	ccel3, rtmr3 := buildCCEL(ccelEvent{1, []byte("firmware")}, ccelEvent{4, []byte("AAEL forged runtime event")})
	s = f.pki.DefaultQuote(nonce)
	s.Body.RTMR = rtmr3
	s.Body.RTMR[3][0] ^= 0xff
	c, err = verifyQuote(t, f.verifier(t, tdx.WithUnloggedRTMR3Unsafe()), trusteeEvidence(f.pki.Quote(s), ccel3), exp())
	if !errors.Is(err, verify.ErrBinding) || c != nil {
		t.Fatalf("RTMR3 events not replayed: claims %v, err %v; want ErrBinding", c != nil, err)
	}
}
