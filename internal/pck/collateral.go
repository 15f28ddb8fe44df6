package pck

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// Caps on collateral items, checked before parsing.
const (
	MaxCollateralItem = 1 << 20 // bytes of one collateral item
	maxTCBLevels      = 256
)

// Items are the collateral for one platform (one FMSPC and PCK CA) in the
// shapes Intel PCS and PCCS v4 serve them; tdx.Collateral and
// sgx.Collateral hand theirs over as Items.
type Items struct {
	TCBInfo, TCBInfoIssuerChain       []byte // {"tcbInfo":{…},"signature":"<hex r‖s>"}; TCB signing cert, Root CA
	QEIdentity, QEIdentityIssuerChain []byte // {"enclaveIdentity":{…},"signature":…}; same chain shape
	PCKCRL, PCKCRLIssuerChain         []byte // PCK CRL (DER, PEM or hex); PCK CA, Root CA
	RootCACRL                         []byte // Intel SGX Root CA CRL (DER, PEM or hex)
}

// Flavor names the TEE whose collateral is verified: the TCB info and QE
// identity ids differ, and TDX TCB levels carry TDX components.
type Flavor int

// The flavors of DCAP collateral.
const (
	FlavorTDX Flavor = iota // TCB info id "TDX", QE identity id "TD_QE"
	FlavorSGX               // TCB info id "SGX", QE identity id "QE"
)

func (f Flavor) ids() (tcb, qe string) {
	if f == FlavorSGX {
		return "SGX", "QE"
	}
	return "TDX", "TD_QE"
}

// HexBytes is a JSON hex string.
type HexBytes []byte

// UnmarshalJSON decodes a JSON string of hex digits.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// Status is an Intel TCB status string.
type Status string

// The TCB statuses Intel defines for TCB info and QE identity levels.
const (
	StatusUpToDate                             Status = "UpToDate"
	StatusSWHardeningNeeded                    Status = "SWHardeningNeeded"
	StatusConfigurationNeeded                  Status = "ConfigurationNeeded"
	StatusConfigurationAndSWHardeningNeeded    Status = "ConfigurationAndSWHardeningNeeded"
	StatusOutOfDate                            Status = "OutOfDate"
	StatusOutOfDateConfigurationNeeded         Status = "OutOfDateConfigurationNeeded"
	StatusTDRelaunchAdvised                    Status = "TDRelaunchAdvised"
	StatusTDRelaunchAdvisedConfigurationNeeded Status = "TDRelaunchAdvisedConfigurationNeeded"
	StatusRevoked                              Status = "Revoked"
)

// Known reports whether s is a status Intel defines.
func (s Status) Known() bool {
	switch s {
	case StatusUpToDate, StatusSWHardeningNeeded, StatusConfigurationNeeded, StatusConfigurationAndSWHardeningNeeded,
		StatusOutOfDate, StatusOutOfDateConfigurationNeeded, StatusTDRelaunchAdvised,
		StatusTDRelaunchAdvisedConfigurationNeeded, StatusRevoked:
		return true
	}
	return false
}

// Component is one SVN of a TCB level.
type Component struct {
	SVN      int    `json:"svn"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

// Level is one TCB level of TCB info, a TDX module identity or a QE identity.
type Level struct {
	TCB struct {
		SGXComponents []Component `json:"sgxtcbcomponents"`
		PCESVN        *int        `json:"pcesvn"`
		TDXComponents []Component `json:"tdxtcbcomponents"`
		ISVSVN        *int        `json:"isvsvn"`
	} `json:"tcb"`
	TCBDate     time.Time `json:"tcbDate"`
	TCBStatus   Status    `json:"tcbStatus"`
	AdvisoryIDs []string  `json:"advisoryIDs"`
}

// ModuleIdentity is a TDX module identity of TDX TCB info.
type ModuleIdentity struct {
	ID             string   `json:"id"`
	MRSigner       HexBytes `json:"mrsigner"`
	Attributes     HexBytes `json:"attributes"`
	AttributesMask HexBytes `json:"attributesMask"`
	TCBLevels      []Level  `json:"tcbLevels"`
}

// TCBInfo is the signed tcbInfo body (version 3).
type TCBInfo struct {
	ID                      string    `json:"id"`
	Version                 int       `json:"version"`
	IssueDate               time.Time `json:"issueDate"`
	NextUpdate              time.Time `json:"nextUpdate"`
	FMSPC                   HexBytes  `json:"fmspc"`
	PCEID                   HexBytes  `json:"pceId"`
	TCBType                 int       `json:"tcbType"`
	TCBEvaluationDataNumber int       `json:"tcbEvaluationDataNumber"`
	TDXModule               *struct {
		MRSigner       HexBytes `json:"mrsigner"`
		Attributes     HexBytes `json:"attributes"`
		AttributesMask HexBytes `json:"attributesMask"`
	} `json:"tdxModule"`
	TDXModuleIdentities []ModuleIdentity `json:"tdxModuleIdentities"`
	TCBLevels           []Level          `json:"tcbLevels"`
}

// QEIdentity is the signed enclaveIdentity body (version 2).
type QEIdentity struct {
	ID                      string    `json:"id"`
	Version                 int       `json:"version"`
	IssueDate               time.Time `json:"issueDate"`
	NextUpdate              time.Time `json:"nextUpdate"`
	TCBEvaluationDataNumber int       `json:"tcbEvaluationDataNumber"`
	MiscSelect              HexBytes  `json:"miscselect"`
	MiscSelectMask          HexBytes  `json:"miscselectMask"`
	Attributes              HexBytes  `json:"attributes"`
	AttributesMask          HexBytes  `json:"attributesMask"`
	MRSigner                HexBytes  `json:"mrsigner"`
	ISVProdID               *int      `json:"isvprodid"`
	TCBLevels               []Level   `json:"tcbLevels"`
}

// signedBody splits {"<key>":{…},"signature":"hex"} keeping the exact signed bytes.
func signedBody(b []byte, key, what string) (json.RawMessage, []byte, error) {
	if len(b) == 0 {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: missing", what)
	}
	if len(b) > MaxCollateralItem {
		return nil, nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds the cap of %d", what, len(b), MaxCollateralItem)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: not JSON: %w", what, err)
	}
	body, ok := m[key]
	if !ok {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: no %q member", what, key)
	}
	var sig HexBytes
	if err := json.Unmarshal(m["signature"], &sig); err != nil || len(sig) != 64 {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: signature must be 64 hex-encoded bytes (err %v, %d bytes)", what, err, len(sig))
	}
	return body, sig, nil
}

// DecodeCRL accepts DER, PEM or hex-encoded DER.
func DecodeCRL(b []byte, what string) (*x509.RevocationList, error) {
	if len(b) == 0 {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: missing", what)
	}
	if len(b) > MaxCollateralItem {
		return nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds the cap of %d", what, len(b), MaxCollateralItem)
	}
	der := b
	if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		blks, err := pemchain.Blocks(t, 1)
		if err != nil {
			// %v: the CRL is collateral; its reader's kind must not make
			// the evidence look malformed.
			return nil, verify.Errorf(verify.ErrCollateral, "%s: expected one PEM X509 CRL block: %v", what, err)
		}
		if blks[0].Type != "X509 CRL" {
			return nil, verify.Errorf(verify.ErrCollateral, "%s: PEM block %q, expected X509 CRL", what, blks[0].Type)
		}
		der = blks[0].Bytes
	} else if d, err := hex.DecodeString(string(t)); err == nil {
		der = d
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: %w", what, err)
	}
	// nextUpdate is optional in X.509 but bounds the CRL's validity: without
	// it the CRL would never expire (Intel's CRLs always carry one).
	if crl.NextUpdate.IsZero() || !crl.NextUpdate.After(crl.ThisUpdate) {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: nextUpdate: expected a time after thisUpdate %s, got %q",
			what, crl.ThisUpdate.UTC().Format(time.RFC3339), RFC3339(crl.NextUpdate))
	}
	return crl, nil
}

// Trust holds the pinned roots; build it with NewTrust.
type Trust struct {
	roots []*x509.Certificate
	pool  *x509.CertPool
}

// NewTrust pins roots (at least one CA certificate, checked by the caller).
func NewTrust(roots []*x509.Certificate) *Trust {
	t := &Trust{roots: roots, pool: x509.NewCertPool()}
	for _, r := range roots {
		t.pool.AddCert(r)
	}
	return t
}

// Pinned reports whether c is one of the pinned roots.
func (t *Trust) Pinned(c *x509.Certificate) bool {
	for _, r := range t.roots {
		if r.Equal(c) {
			return true
		}
	}
	return false
}

// VerifyIssuerChain verifies a PEM chain "end entity, …, root" to a Pinned
// root at now, narrows win to the validity of every certificate in it, and
// returns the end-entity certificate. wantCA says whether the end entity must
// be a CA (a CRL issuer) or must not be (a signing certificate).
func (t *Trust) VerifyIssuerChain(pemChain []byte, wantCA bool, now time.Time, what string, win *Window) (*x509.Certificate, error) {
	if len(pemChain) == 0 {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: issuer chain missing", what)
	}
	if len(pemChain) > MaxChainPEMLen {
		return nil, verify.Errorf(verify.ErrLimit, "%s: issuer chain of %d bytes exceeds the cap of %d", what, len(pemChain), MaxChainPEMLen)
	}
	certs, err := ParsePEMChain(pemChain, 2, what+" issuer chain")
	if err != nil {
		return nil, err
	}
	if err := t.VerifyCerts(certs, now, what); err != nil {
		return nil, err
	}
	ee := certs[0]
	if ee.IsCA != wantCA {
		return nil, verify.Errorf(verify.ErrChain, "%s: certificate %q has CA=%v, expected CA=%v", what, ee.Subject.CommonName, ee.IsCA, wantCA)
	}
	for _, c := range certs {
		win.Cert(what+" issuer chain", c)
	}
	return ee, nil
}

// VerifyCerts checks that certs (leaf first, root last) chain to a Pinned root
// at now. The root must itself be Pinned: a root arriving with the data is
// never trusted.
func (t *Trust) VerifyCerts(certs []*x509.Certificate, now time.Time, what string) error {
	root := certs[len(certs)-1]
	if !t.Pinned(root) {
		return verify.Errorf(verify.ErrChain, "%s: root %q (serial %x) is not a Pinned Intel SGX Root CA", what, root.Subject.CommonName, root.SerialNumber)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1 : len(certs)-1] {
		if !c.IsCA {
			return verify.Errorf(verify.ErrChain, "%s: intermediate %q is not a CA", what, c.Subject.CommonName)
		}
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots: t.pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return verify.Errorf(verify.ErrChain, "%s: certificate %q not valid at %s: %w: %w", what, inv.Cert.Subject.CommonName, now.UTC().Format(time.RFC3339), verify.ErrExpired, err)
		}
		return verify.Errorf(verify.ErrChain, "%s: %w", what, err)
	}
	// x509.Verify may build a path that skips the presented intermediates; the
	// presented chain itself must link.
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return verify.Errorf(verify.ErrChain, "%s: certificate %d not signed by certificate %d: %w", what, i, i+1, err)
		}
	}
	for _, c := range certs {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return verify.Errorf(verify.ErrChain, "%s: certificate %q valid %s..%s, not at %s: %w", what, c.Subject.CommonName,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), verify.ErrExpired)
		}
	}
	return nil
}

// verifySignedBody checks sig over the signed body raw and returns the
// bytes it verified, from which the body must then be decoded. Intel signs
// the compact JSON text PCS serves; collateral that was stored
// pretty-printed (as some verifiers' test data is) differs from it only in
// whitespace between tokens. When the signature fails over raw, it is
// checked once more over json.Compact(raw), which removes exactly that
// whitespace and changes nothing else (not the order of members, not the
// text of strings or numbers): a body is accepted only as bytes Intel
// signed, and decoded only from those bytes.
func verifySignedBody(cert *x509.Certificate, raw, sig []byte, what string) ([]byte, error) {
	err := verifyJSONSig(cert, raw, sig, what)
	if err == nil {
		return raw, nil
	}
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if json.Compact(&compact, raw) != nil || bytes.Equal(compact.Bytes(), raw) {
		return nil, err
	}
	if verifyJSONSig(cert, compact.Bytes(), sig, what) != nil {
		return nil, verify.Errorf(verify.ErrSignature, "%s: signature %x does not verify with %q, as served or with the whitespace between its JSON tokens removed",
			what, sig, cert.Subject.CommonName)
	}
	return compact.Bytes(), nil
}

func verifyJSONSig(cert *x509.Certificate, body, sig []byte, what string) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return verify.Errorf(verify.ErrChain, "%s: signing certificate key is %T, expected ECDSA", what, cert.PublicKey)
	}
	d := sha256.Sum256(body)
	if !VerifyRawP256(pub, d[:], sig) {
		return verify.Errorf(verify.ErrSignature, "%s: signature %x does not verify with %q", what, sig, cert.Subject.CommonName)
	}
	return nil
}

// Verified is collateral whose signatures, chains and structure were
// checked. Validity windows are re-checked on every use against the caller's time.
type Verified struct {
	TCB         *TCBInfo
	QE          *QEIdentity
	PCKCRL      *x509.RevocationList // nil when CRLs were skipped
	PCKCRLCA    *x509.Certificate
	RootCRL     *x509.RevocationList
	pckRevoked  map[string]bool
	rootRevoked map[string]bool
	signers     []*x509.Certificate // TCB info and QE identity signing certificates
	notBefore   time.Time           // latest start of validity among all items
	NotAfter    time.Time           // earliest end of validity among all items
	// The items whose validity starts last and ends first, named for
	// messages ("TCB info (nextUpdate)").
	notBeforeItem, notAfterItem string
	// The validity of the issuer-chain certificates alone, to which no
	// grace applies, and the certificates that bound it.
	certNotBefore, certNotAfter         time.Time
	certNotBeforeItem, certNotAfterItem string
	IssueDates                          [2]time.Time // earliest, latest issue date
}

// SerialKey is the key of a certificate serial number in a revocation set.
func SerialKey(b []byte) string { return string(b) }

// VerifyCollateral checks everything in c that does not depend on the quote:
// the signatures and issuer chains of TCB info and QE identity (of flavor f),
// their shape, and unless skipCRLs both CRLs and the revocation of the
// collateral signers.
func (t *Trust) VerifyCollateral(c *Items, f Flavor, now time.Time, skipCRLs bool) (*Verified, error) {
	v := &Verified{}
	win := Window{}   // every item and certificate
	certs := Window{} // the issuer-chain certificates, merged into win at the end

	// signed checks item, {"<key>":{…},"signature":"hex"}, against the
	// signing certificate of its issuer chain and decodes the signed body
	// into out. A chain identical to the one verified before is not verified
	// again.
	var lastChain []byte
	var lastSigner *x509.Certificate
	signed := func(item, chain []byte, key, what string, out any) (*x509.Certificate, error) {
		raw, sig, err := signedBody(item, key, what)
		if err != nil {
			return nil, err
		}
		signer := lastSigner
		if signer == nil || !bytes.Equal(chain, lastChain) {
			if signer, err = t.VerifyIssuerChain(chain, false, now, what, &certs); err != nil {
				return nil, err
			}
			lastChain, lastSigner = chain, signer
		}
		if raw, err = verifySignedBody(signer, raw, sig, what); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, verify.Errorf(verify.ErrCollateral, "%s: %w", what, err)
		}
		return signer, nil
	}

	v.TCB = &TCBInfo{}
	tcbSigner, err := signed(c.TCBInfo, c.TCBInfoIssuerChain, "tcbInfo", "TCB info", v.TCB)
	if err != nil {
		return nil, err
	}
	if err := checkTCBInfo(v.TCB, f); err != nil {
		return nil, err
	}
	win.Add("TCB info", v.TCB.IssueDate, v.TCB.NextUpdate)

	v.QE = &QEIdentity{}
	qeSigner, err := signed(c.QEIdentity, c.QEIdentityIssuerChain, "enclaveIdentity", "QE identity", v.QE)
	if err != nil {
		return nil, err
	}
	if err := checkQEIdentity(v.QE, f); err != nil {
		return nil, err
	}
	win.Add("QE identity", v.QE.IssueDate, v.QE.NextUpdate)
	v.signers = []*x509.Certificate{tcbSigner, qeSigner}

	if !skipCRLs {
		// Root CA CRL, signed by the Pinned root.
		v.RootCRL, err = DecodeCRL(c.RootCACRL, "Root CA CRL")
		if err != nil {
			return nil, err
		}
		if err := t.checkCRLSignedByRoot(v.RootCRL); err != nil {
			return nil, err
		}
		v.rootRevoked = revokedSet(v.RootCRL)
		win.Add("Root CA CRL", v.RootCRL.ThisUpdate, v.RootCRL.NextUpdate)

		// PCK CRL, signed by the PCK CA of its issuer chain.
		v.PCKCRL, err = DecodeCRL(c.PCKCRL, "PCK CRL")
		if err != nil {
			return nil, err
		}
		if v.PCKCRLCA, err = t.VerifyIssuerChain(c.PCKCRLIssuerChain, true, now, "PCK CRL", &certs); err != nil {
			return nil, err
		}
		if err := v.PCKCRL.CheckSignatureFrom(v.PCKCRLCA); err != nil {
			return nil, verify.Errorf(verify.ErrSignature, "PCK CRL: not signed by %q: %w", v.PCKCRLCA.Subject.CommonName, err)
		}
		v.pckRevoked = revokedSet(v.PCKCRL)
		win.Add("PCK CRL", v.PCKCRL.ThisUpdate, v.PCKCRL.NextUpdate)
		for _, s := range v.signers {
			if v.rootRevoked[SerialKey(s.SerialNumber.Bytes())] {
				return nil, verify.Errorf(verify.ErrRevoked, "collateral signing certificate %q serial %x is revoked by the Root CA CRL", s.Subject.CommonName, s.SerialNumber)
			}
		}
		if v.rootRevoked[SerialKey(v.PCKCRLCA.SerialNumber.Bytes())] {
			return nil, verify.Errorf(verify.ErrRevoked, "PCK CRL issuer %q serial %x is revoked by the Root CA CRL", v.PCKCRLCA.Subject.CommonName, v.PCKCRLCA.SerialNumber)
		}
	}
	win.Merge(certs)
	v.notBefore, v.NotAfter, v.notBeforeItem, v.notAfterItem = win.from, win.to, win.fromItem, win.toItem
	v.certNotBefore, v.certNotAfter, v.certNotBeforeItem, v.certNotAfterItem = certs.from, certs.to, certs.fromItem, certs.toItem
	v.IssueDates = [2]time.Time{MinTime(v.TCB.IssueDate, v.QE.IssueDate), MaxTime(v.TCB.IssueDate, v.QE.IssueDate)}
	return v, nil
}

func (t *Trust) checkCRLSignedByRoot(crl *x509.RevocationList) error {
	for _, r := range t.roots {
		if bytes.Equal(crl.RawIssuer, r.RawSubject) && crl.CheckSignatureFrom(r) == nil {
			return nil
		}
	}
	return verify.Errorf(verify.ErrSignature, "Root CA CRL: issuer %q is not signed by a Pinned root", crl.Issuer.CommonName)
}

func revokedSet(crl *x509.RevocationList) map[string]bool {
	m := make(map[string]bool, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		m[SerialKey(e.SerialNumber.Bytes())] = true
	}
	return m
}

// Window returns the validity of the whole set (every item and every
// certificate of its issuer chains) and the item that ends it.
func (v *Verified) Window() (notBefore, notAfter time.Time, limitedBy string) {
	return v.notBefore, v.NotAfter, v.notAfterItem
}

// CheckValidity re-checks the validity windows of every item at now.
func (v *Verified) CheckValidity(now time.Time) error {
	_, err := v.CheckValidityGrace(now, 0)
	return err
}

// CheckValidityGrace is CheckValidity accepting items whose validity ended at
// most grace ago; stale reports whether that grace was used. The grace never
// applies to the certificates of the issuer chains, as on the cold path.
func (v *Verified) CheckValidityGrace(now time.Time, grace time.Duration) (stale bool, err error) {
	if now.Before(v.certNotBefore) {
		return false, verify.Errorf(verify.ErrChain, "%s is not valid before %s (verification time %s): %w",
			v.certNotBeforeItem, RFC3339(v.certNotBefore), RFC3339(now), verify.ErrExpired)
	}
	if now.After(v.certNotAfter) {
		return false, verify.Errorf(verify.ErrChain, "%s expired at %s (verification time %s): %w",
			v.certNotAfterItem, RFC3339(v.certNotAfter), RFC3339(now), verify.ErrExpired)
	}
	if now.After(v.NotAfter) && grace > 0 && !now.After(v.NotAfter.Add(grace)) && !now.Before(v.notBefore) {
		return true, nil
	}
	return false, v.checkWindow(now)
}

func (v *Verified) checkWindow(now time.Time) error {
	if now.Before(v.notBefore) {
		return verify.Errorf(verify.ErrCollateral, "%s is not valid before %s (verification time %s): %w",
			v.notBeforeItem, RFC3339(v.notBefore), RFC3339(now), verify.ErrExpired)
	}
	if now.After(v.NotAfter) {
		return verify.Errorf(verify.ErrCollateral, "%s expired at %s (verification time %s): %w",
			v.notAfterItem, RFC3339(v.NotAfter), RFC3339(now), verify.ErrExpired)
	}
	return nil
}

// AsCollateral gives a failure of the collateral itself (its signature, its
// issuer chain, its validity or its shape) the kind ErrCollateral besides
// its own: such a failure says nothing about the quote, and
// verify.FailureVector reads it as collateral, not as a cryptographic
// failure of the evidence.
func AsCollateral(err error) error {
	if err == nil || errors.Is(err, verify.ErrCollateral) {
		return err
	}
	return verify.Errorf(verify.ErrCollateral, "%w", err)
}

// Window is the intersection of validity periods. A zero bound added to it
// is kept as the zero time (an empty Window), never skipped, so an item
// without an end cannot widen the Window of the others. It remembers which
// item set each bound, so that a message can say which one expired.
type Window struct {
	from, to         time.Time
	fromItem, toItem string // "TCB info (issueDate)", "PCK CRL (nextUpdate)"
	set              bool
}

// add narrows w to the validity from..to of the item named item, whose
// bounds are the named fields of Intel's collateral.
func (w *Window) Add(item string, from, to time.Time) {
	start, end := "issueDate", "nextUpdate"
	if strings.HasSuffix(item, "CRL") {
		start = "thisUpdate"
	}
	w.Merge(Window{from: from, to: to, fromItem: item + " (" + start + ")", toItem: item + " (" + end + ")", set: true})
}

// cert narrows w to the validity of certificate c of the named chain.
func (w *Window) Cert(chain string, c *x509.Certificate) {
	name := fmt.Sprintf("%s certificate %q", chain, c.Subject.CommonName)
	w.Merge(Window{from: c.NotBefore, to: c.NotAfter, fromItem: name + " (notBefore)", toItem: name + " (notAfter)", set: true})
}

// merge narrows w to o; an unset o (zero bounds) empties w.
func (w *Window) Merge(o Window) {
	if !w.set || o.from.After(w.from) {
		w.from, w.fromItem = o.from, o.fromItem
	}
	if !w.set || !o.set || o.to.Before(w.to) {
		w.to, w.toItem = o.to, o.toItem
	}
	w.set = true
}

// MinTime is the earlier of a and b.
func MinTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// MaxTime is the later of a and b.
func MaxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func checkLevels(levels []Level, what string, platform bool, f Flavor) error {
	if len(levels) == 0 || len(levels) > maxTCBLevels {
		return verify.Errorf(verify.ErrCollateral, "%s: %d TCB levels (want 1..%d)", what, len(levels), maxTCBLevels)
	}
	for i, l := range levels {
		if !l.TCBStatus.Known() {
			return verify.Errorf(verify.ErrCollateral, "%s: level %d has unknown TCB status %q", what, i, l.TCBStatus)
		}
		if platform {
			wantTDX := 16
			if f == FlavorSGX {
				wantTDX = 0 // SGX TCB info levels have no TDX components
			}
			if len(l.TCB.SGXComponents) != 16 || len(l.TCB.TDXComponents) != wantTDX || l.TCB.PCESVN == nil {
				return verify.Errorf(verify.ErrCollateral, "%s: level %d must have 16 SGX components, %d TDX components and a PCESVN (got %d, %d, pcesvn set %v)",
					what, i, wantTDX, len(l.TCB.SGXComponents), len(l.TCB.TDXComponents), l.TCB.PCESVN != nil)
			}
		} else if l.TCB.ISVSVN == nil {
			return verify.Errorf(verify.ErrCollateral, "%s: level %d has no isvsvn", what, i)
		}
	}
	return nil
}

func checkTCBInfo(t *TCBInfo, f Flavor) error {
	id, _ := f.ids()
	if t.ID != id || t.Version != 3 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: expected id %s version 3, got id %q version %d", id, t.ID, t.Version)
	}
	if t.IssueDate.IsZero() || t.NextUpdate.IsZero() || !t.NextUpdate.After(t.IssueDate) {
		return verify.Errorf(verify.ErrCollateral, "TCB info: bad issueDate %s / nextUpdate %s", t.IssueDate, t.NextUpdate)
	}
	if len(t.FMSPC) != 6 || len(t.PCEID) != 2 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: fmspc must be 6 bytes and pceId 2 bytes, got %d and %d", len(t.FMSPC), len(t.PCEID))
	}
	if f == FlavorSGX {
		if t.TDXModule != nil || len(t.TDXModuleIdentities) > 0 {
			return verify.Errorf(verify.ErrCollateral, "TCB info: id SGX with TDX module fields")
		}
		return checkLevels(t.TCBLevels, "TCB info", true, f)
	}
	if t.TDXModule == nil || len(t.TDXModule.MRSigner) != 48 || len(t.TDXModule.Attributes) != 8 || len(t.TDXModule.AttributesMask) != 8 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: tdxModule missing or malformed")
	}
	for _, m := range t.TDXModuleIdentities {
		if len(m.MRSigner) != 48 || len(m.Attributes) != 8 || len(m.AttributesMask) != 8 {
			return verify.Errorf(verify.ErrCollateral, "TCB info: TDX module identity %q malformed", m.ID)
		}
		if err := checkLevels(m.TCBLevels, "TCB info module "+m.ID, false, f); err != nil {
			return err
		}
	}
	return checkLevels(t.TCBLevels, "TCB info", true, f)
}

func checkQEIdentity(q *QEIdentity, f Flavor) error {
	_, id := f.ids()
	if q.ID != id || q.Version != 2 {
		return verify.Errorf(verify.ErrCollateral, "QE identity: expected id %s version 2, got id %q version %d", id, q.ID, q.Version)
	}
	if q.IssueDate.IsZero() || q.NextUpdate.IsZero() || !q.NextUpdate.After(q.IssueDate) {
		return verify.Errorf(verify.ErrCollateral, "QE identity: bad issueDate %s / nextUpdate %s", q.IssueDate, q.NextUpdate)
	}
	if len(q.MiscSelect) != 4 || len(q.MiscSelectMask) != 4 || len(q.Attributes) != 16 || len(q.AttributesMask) != 16 || len(q.MRSigner) != 32 || q.ISVProdID == nil {
		return verify.Errorf(verify.ErrCollateral, "QE identity: miscselect, attributes, mrsigner or isvprodid missing or of the wrong size")
	}
	return checkLevels(q.TCBLevels, "QE identity", false, f)
}

// UpperHex is b in upper-case hex, as Intel writes FMSPCs.
func UpperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// RFC3339 formats t in UTC, or "" for the zero time.
func RFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
