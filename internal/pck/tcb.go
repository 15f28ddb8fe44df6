package pck

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// CheckRevocation checks the PCK leaf and its CA against the verified CRLs
// (nothing when CRLs were skipped) and that the PCK CRL is the PCK CA's.
func (v *Verified) CheckRevocation(p *Platform) error {
	if v.PCKCRL == nil {
		return nil
	}
	if !bytes.Equal(v.PCKCRLCA.RawSubject, p.Intermediate.RawSubject) || !bytes.Equal(v.PCKCRLCA.RawSubjectPublicKeyInfo, p.Intermediate.RawSubjectPublicKeyInfo) {
		return verify.Errorf(verify.ErrCollateral, "PCK CRL issuer: expected %q (the PCK's issuer), got %q", p.Intermediate.Subject.CommonName, v.PCKCRLCA.Subject.CommonName)
	}
	if v.pckRevoked[SerialKey(p.Leaf.SerialNumber.Bytes())] {
		return verify.Errorf(verify.ErrRevoked, "PCK certificate serial %x is revoked by the PCK CRL", p.Leaf.SerialNumber)
	}
	if v.rootRevoked[SerialKey(p.Intermediate.SerialNumber.Bytes())] {
		return verify.Errorf(verify.ErrRevoked, "PCK CA %q serial %x is revoked by the Root CA CRL", p.Intermediate.Subject.CommonName, p.Intermediate.SerialNumber)
	}
	return nil
}

// CheckPlatformIDs checks that the TCB info is the PCK's platform's.
func (v *Verified) CheckPlatformIDs(x *Extensions) error {
	t := v.TCB
	if !bytes.Equal(t.FMSPC, x.FMSPC[:]) {
		return verify.Errorf(verify.ErrCollateral, "TCB info fmspc: expected %s (from PCK), got %s", UpperHex(x.FMSPC[:]), UpperHex(t.FMSPC))
	}
	if !bytes.Equal(t.PCEID, x.PCEID[:]) {
		return verify.Errorf(verify.ErrCollateral, "TCB info pceId: expected %s (from PCK), got %s", UpperHex(x.PCEID[:]), UpperHex(t.PCEID))
	}
	return nil
}

// SGXComponentsGE compares the PCK's 16 SGX component SVNs and PCESVN with
// level l, as Intel's QVL does (the PCK's values, not the quote's CPUSVN).
// With a fail function it goes on through every comparison, passing each
// failed one to it; without, it stops at the first.
func SGXComponentsGE(x *Extensions, l *Level, fail func(string)) bool {
	ok := true
	for i, c := range l.TCB.SGXComponents {
		if int(x.CompSVN[i]) < c.SVN {
			ok = false
			if fail == nil {
				return false
			}
			fail(fmt.Sprintf("SGX component %d is %d < %d", i+1, x.CompSVN[i], c.SVN))
		}
	}
	if int(x.PCESVN) < *l.TCB.PCESVN {
		ok = false
		if fail != nil {
			fail(fmt.Sprintf("PCESVN is %d < %d", x.PCESVN, *l.TCB.PCESVN))
		}
	}
	return ok
}

// MatchQE finds the QE identity level of the QE report r after checking its
// MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES against the identity.
func MatchQE(r *EnclaveReport, id *QEIdentity) (*Level, error) {
	if !bytes.Equal(r.MRSigner[:], id.MRSigner) {
		return nil, verify.Errorf(verify.ErrTCB, "QE report mrsigner: expected %x (QE identity), got %x", []byte(id.MRSigner), r.MRSigner)
	}
	if int(r.ISVProdID) != *id.ISVProdID {
		return nil, verify.Errorf(verify.ErrTCB, "QE report isvprodid: expected %d (QE identity), got %d", *id.ISVProdID, r.ISVProdID)
	}
	misc, mask := binary.BigEndian.Uint32(id.MiscSelect), binary.BigEndian.Uint32(id.MiscSelectMask)
	if r.MiscSelect&mask != misc {
		return nil, verify.Errorf(verify.ErrTCB, "QE report miscselect: %08x masked by %08x, expected %08x", r.MiscSelect, mask, misc)
	}
	if !MaskEqual(r.Attributes[:], id.AttributesMask, id.Attributes) {
		return nil, verify.Errorf(verify.ErrTCB, "QE report attributes: %x masked by %x, expected %x", r.Attributes, []byte(id.AttributesMask), []byte(id.Attributes))
	}
	for i := range id.TCBLevels {
		if int(r.ISVSVN) >= *id.TCBLevels[i].TCB.ISVSVN {
			return &id.TCBLevels[i], nil
		}
	}
	return nil, verify.Errorf(verify.ErrTCB, "QE identity: no TCB level for QE isvsvn %d", r.ISVSVN)
}

// MaskEqual reports whether v masked by mask is want (all of one length).
func MaskEqual(v, mask, want []byte) bool {
	if len(v) != len(mask) || len(v) != len(want) {
		return false
	}
	for i := range v {
		if v[i]&mask[i] != want[i] {
			return false
		}
	}
	return true
}

// Dedupe drops repeated strings, keeping the first of each; never nil.
func Dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := []string{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// JoinKinded returns the only error, or all of them joined so that every
// cause and every kind stays visible to errors.Is.
func JoinKinded(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &multiError{errs: errs, msg: strings.Join(msgs, "; ")}
}

type multiError struct {
	errs []error
	msg  string
}

func (m *multiError) Error() string   { return m.msg }
func (m *multiError) Unwrap() []error { return m.errs }
