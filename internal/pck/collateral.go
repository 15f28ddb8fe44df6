package tdx

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
	"sync"
	"time"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// Caps on collateral items, checked before parsing.
const (
	maxCollateralItem = 1 << 20
	maxTCBLevels      = 256
)

// Collateral is Intel's collateral for one platform (one FMSPC and PCK CA),
// in the shapes Intel PCS and PCCS v4 serve it. A Collateral must not be
// modified once it has been handed to a Verifier: verified results are cached
// under a digest of its bytes computed once.
type Collateral struct {
	// TCBInfo is the body of GET /tdx/certification/v4/tcb?fmspc=…:
	// {"tcbInfo":{…},"signature":"<hex r‖s>"}.
	TCBInfo []byte
	// TCBInfoIssuerChain is the PEM chain of the TCB signing certificate
	// (header TCB-Info-Issuer-Chain): signing certificate, then Root CA.
	TCBInfoIssuerChain []byte
	// QEIdentity is the body of GET /tdx/certification/v4/qe/identity:
	// {"enclaveIdentity":{…},"signature":"<hex r‖s>"}.
	QEIdentity []byte
	// QEIdentityIssuerChain is the PEM chain of header SGX-Enclave-Identity-Issuer-Chain.
	QEIdentityIssuerChain []byte
	// PCKCRL is the PCK CRL of the PCK's issuing CA (DER, PEM or hex of DER).
	PCKCRL []byte
	// PCKCRLIssuerChain is the PEM chain of header SGX-PCK-CRL-Issuer-Chain: PCK CA, then Root CA.
	PCKCRLIssuerChain []byte
	// RootCACRL is the Intel SGX Root CA CRL (DER, PEM or hex of DER).
	RootCACRL []byte

	once   sync.Once
	digest [32]byte
}

// Digest is a SHA-256 over every item, length-prefixed; computed once.
func (c *Collateral) Digest() [32]byte {
	c.once.Do(func() {
		h := sha256.New()
		for _, b := range [][]byte{c.TCBInfo, c.TCBInfoIssuerChain, c.QEIdentity, c.QEIdentityIssuerChain, c.PCKCRL, c.PCKCRLIssuerChain, c.RootCACRL} {
			fmt.Fprintf(h, "%d:", len(b))
			h.Write(b)
		}
		h.Sum(c.digest[:0])
	})
	return c.digest
}

// hexBytes is a JSON hex string.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
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

// TCBStatus is an Intel TCB status string.
type TCBStatus string

// The TCB statuses Intel defines for TCB info and QE identity levels.
const (
	StatusUpToDate                             TCBStatus = "UpToDate"
	StatusSWHardeningNeeded                    TCBStatus = "SWHardeningNeeded"
	StatusConfigurationNeeded                  TCBStatus = "ConfigurationNeeded"
	StatusConfigurationAndSWHardeningNeeded    TCBStatus = "ConfigurationAndSWHardeningNeeded"
	StatusOutOfDate                            TCBStatus = "OutOfDate"
	StatusOutOfDateConfigurationNeeded         TCBStatus = "OutOfDateConfigurationNeeded"
	StatusTDRelaunchAdvised                    TCBStatus = "TDRelaunchAdvised"
	StatusTDRelaunchAdvisedConfigurationNeeded TCBStatus = "TDRelaunchAdvisedConfigurationNeeded"
	StatusRevoked                              TCBStatus = "Revoked"
)

func (s TCBStatus) known() bool {
	switch s {
	case StatusUpToDate, StatusSWHardeningNeeded, StatusConfigurationNeeded, StatusConfigurationAndSWHardeningNeeded,
		StatusOutOfDate, StatusOutOfDateConfigurationNeeded, StatusTDRelaunchAdvised,
		StatusTDRelaunchAdvisedConfigurationNeeded, StatusRevoked:
		return true
	}
	return false
}

type tcbComponent struct {
	SVN      int    `json:"svn"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

type tcbLevel struct {
	TCB struct {
		SGXComponents []tcbComponent `json:"sgxtcbcomponents"`
		PCESVN        *int           `json:"pcesvn"`
		TDXComponents []tcbComponent `json:"tdxtcbcomponents"`
		ISVSVN        *int           `json:"isvsvn"`
	} `json:"tcb"`
	TCBDate     time.Time `json:"tcbDate"`
	TCBStatus   TCBStatus `json:"tcbStatus"`
	AdvisoryIDs []string  `json:"advisoryIDs"`
}

type moduleIdentity struct {
	ID             string     `json:"id"`
	MRSigner       hexBytes   `json:"mrsigner"`
	Attributes     hexBytes   `json:"attributes"`
	AttributesMask hexBytes   `json:"attributesMask"`
	TCBLevels      []tcbLevel `json:"tcbLevels"`
}

type tcbInfo struct {
	ID                      string    `json:"id"`
	Version                 int       `json:"version"`
	IssueDate               time.Time `json:"issueDate"`
	NextUpdate              time.Time `json:"nextUpdate"`
	FMSPC                   hexBytes  `json:"fmspc"`
	PCEID                   hexBytes  `json:"pceId"`
	TCBType                 int       `json:"tcbType"`
	TCBEvaluationDataNumber int       `json:"tcbEvaluationDataNumber"`
	TDXModule               *struct {
		MRSigner       hexBytes `json:"mrsigner"`
		Attributes     hexBytes `json:"attributes"`
		AttributesMask hexBytes `json:"attributesMask"`
	} `json:"tdxModule"`
	TDXModuleIdentities []moduleIdentity `json:"tdxModuleIdentities"`
	TCBLevels           []tcbLevel       `json:"tcbLevels"`
}

type qeIdentity struct {
	ID                      string     `json:"id"`
	Version                 int        `json:"version"`
	IssueDate               time.Time  `json:"issueDate"`
	NextUpdate              time.Time  `json:"nextUpdate"`
	TCBEvaluationDataNumber int        `json:"tcbEvaluationDataNumber"`
	MiscSelect              hexBytes   `json:"miscselect"`
	MiscSelectMask          hexBytes   `json:"miscselectMask"`
	Attributes              hexBytes   `json:"attributes"`
	AttributesMask          hexBytes   `json:"attributesMask"`
	MRSigner                hexBytes   `json:"mrsigner"`
	ISVProdID               *int       `json:"isvprodid"`
	TCBLevels               []tcbLevel `json:"tcbLevels"`
}

// signedBody splits {"<key>":{…},"signature":"hex"} keeping the exact signed bytes.
func signedBody(b []byte, key, what string) (json.RawMessage, []byte, error) {
	if len(b) == 0 {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: missing", what)
	}
	if len(b) > maxCollateralItem {
		return nil, nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds the cap of %d", what, len(b), maxCollateralItem)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: not JSON: %w", what, err)
	}
	body, ok := m[key]
	if !ok {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: no %q member", what, key)
	}
	var sig hexBytes
	if err := json.Unmarshal(m["signature"], &sig); err != nil || len(sig) != 64 {
		return nil, nil, verify.Errorf(verify.ErrCollateral, "%s: signature must be 64 hex-encoded bytes (err %v, %d bytes)", what, err, len(sig))
	}
	return body, sig, nil
}

// decodeCRL accepts DER, PEM or hex-encoded DER.
func decodeCRL(b []byte, what string) (*x509.RevocationList, error) {
	if len(b) == 0 {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: missing", what)
	}
	if len(b) > maxCollateralItem {
		return nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds the cap of %d", what, len(b), maxCollateralItem)
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
			what, crl.ThisUpdate.UTC().Format(time.RFC3339), rfc3339(crl.NextUpdate))
	}
	return crl, nil
}

// trust holds the pinned roots.
type trust struct {
	roots []*x509.Certificate
	pool  *x509.CertPool
}

func (t *trust) pinned(c *x509.Certificate) bool {
	for _, r := range t.roots {
		if r.Equal(c) {
			return true
		}
	}
	return false
}

// verifyIssuerChain verifies a PEM chain "end entity, …, root" to a pinned
// root at now, narrows win to the validity of every certificate in it, and
// returns the end-entity certificate. wantCA says whether the end entity must
// be a CA (a CRL issuer) or must not be (a signing certificate).
func (t *trust) verifyIssuerChain(pemChain []byte, wantCA bool, now time.Time, what string, win *window) (*x509.Certificate, error) {
	if len(pemChain) == 0 {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: issuer chain missing", what)
	}
	if len(pemChain) > maxPCKChainPEMLen {
		return nil, verify.Errorf(verify.ErrLimit, "%s: issuer chain of %d bytes exceeds the cap of %d", what, len(pemChain), maxPCKChainPEMLen)
	}
	certs, err := parsePEMChain(pemChain, 2, what+" issuer chain")
	if err != nil {
		return nil, err
	}
	if err := t.verifyCerts(certs, now, what); err != nil {
		return nil, err
	}
	ee := certs[0]
	if ee.IsCA != wantCA {
		return nil, verify.Errorf(verify.ErrChain, "%s: certificate %q has CA=%v, expected CA=%v", what, ee.Subject.CommonName, ee.IsCA, wantCA)
	}
	for _, c := range certs {
		win.cert(what+" issuer chain", c)
	}
	return ee, nil
}

// verifyCerts checks that certs (leaf first, root last) chain to a pinned root
// at now. The root must itself be pinned: a root arriving with the data is
// never trusted.
func (t *trust) verifyCerts(certs []*x509.Certificate, now time.Time, what string) error {
	root := certs[len(certs)-1]
	if !t.pinned(root) {
		return verify.Errorf(verify.ErrChain, "%s: root %q (serial %x) is not a pinned Intel SGX Root CA", what, root.Subject.CommonName, root.SerialNumber)
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

func verifyJSONSig(cert *x509.Certificate, body, sig []byte, what string) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return verify.Errorf(verify.ErrChain, "%s: signing certificate key is %T, expected ECDSA", what, cert.PublicKey)
	}
	d := sha256.Sum256(body)
	if !verifyRawP256(pub, d[:], sig) {
		return verify.Errorf(verify.ErrSignature, "%s: signature %x does not verify with %q", what, sig, cert.Subject.CommonName)
	}
	return nil
}

// verifiedCollateral is collateral whose signatures, chains and structure were
// checked. Validity windows are re-checked on every use against the caller's time.
type verifiedCollateral struct {
	tcb         *tcbInfo
	qe          *qeIdentity
	pckCRL      *x509.RevocationList // nil when CRLs were skipped
	pckCRLCA    *x509.Certificate
	rootCRL     *x509.RevocationList
	pckRevoked  map[string]bool
	rootRevoked map[string]bool
	signers     []*x509.Certificate // TCB info and QE identity signing certificates
	notBefore   time.Time           // latest start of validity among all items
	notAfter    time.Time           // earliest end of validity among all items
	// The items whose validity starts last and ends first, named for
	// messages ("TCB info (nextUpdate)").
	notBeforeItem, notAfterItem string
	// The validity of the issuer-chain certificates alone, to which no
	// grace applies, and the certificates that bound it.
	certNotBefore, certNotAfter         time.Time
	certNotBeforeItem, certNotAfterItem string
	issueDates                          [2]time.Time // earliest, latest issue date
}

func serialKey(b []byte) string { return string(b) }

// verifyCollateral checks everything in c that does not depend on the quote.
func (t *trust) verifyCollateral(c *Collateral, now time.Time, skipCRLs bool) (*verifiedCollateral, error) {
	v := &verifiedCollateral{}
	win := window{}   // every item and certificate
	certs := window{} // the issuer-chain certificates, merged into win at the end

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
			if signer, err = t.verifyIssuerChain(chain, false, now, what, &certs); err != nil {
				return nil, err
			}
			lastChain, lastSigner = chain, signer
		}
		if err := verifyJSONSig(signer, raw, sig, what); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, verify.Errorf(verify.ErrCollateral, "%s: %w", what, err)
		}
		return signer, nil
	}

	v.tcb = &tcbInfo{}
	tcbSigner, err := signed(c.TCBInfo, c.TCBInfoIssuerChain, "tcbInfo", "TCB info", v.tcb)
	if err != nil {
		return nil, err
	}
	if err := checkTCBInfo(v.tcb); err != nil {
		return nil, err
	}
	win.add("TCB info", v.tcb.IssueDate, v.tcb.NextUpdate)

	v.qe = &qeIdentity{}
	qeSigner, err := signed(c.QEIdentity, c.QEIdentityIssuerChain, "enclaveIdentity", "QE identity", v.qe)
	if err != nil {
		return nil, err
	}
	if err := checkQEIdentity(v.qe); err != nil {
		return nil, err
	}
	win.add("QE identity", v.qe.IssueDate, v.qe.NextUpdate)
	v.signers = []*x509.Certificate{tcbSigner, qeSigner}

	if !skipCRLs {
		// Root CA CRL, signed by the pinned root.
		v.rootCRL, err = decodeCRL(c.RootCACRL, "Root CA CRL")
		if err != nil {
			return nil, err
		}
		if err := t.checkCRLSignedByRoot(v.rootCRL); err != nil {
			return nil, err
		}
		v.rootRevoked = revokedSet(v.rootCRL)
		win.add("Root CA CRL", v.rootCRL.ThisUpdate, v.rootCRL.NextUpdate)

		// PCK CRL, signed by the PCK CA of its issuer chain.
		v.pckCRL, err = decodeCRL(c.PCKCRL, "PCK CRL")
		if err != nil {
			return nil, err
		}
		if v.pckCRLCA, err = t.verifyIssuerChain(c.PCKCRLIssuerChain, true, now, "PCK CRL", &certs); err != nil {
			return nil, err
		}
		if err := v.pckCRL.CheckSignatureFrom(v.pckCRLCA); err != nil {
			return nil, verify.Errorf(verify.ErrSignature, "PCK CRL: not signed by %q: %w", v.pckCRLCA.Subject.CommonName, err)
		}
		v.pckRevoked = revokedSet(v.pckCRL)
		win.add("PCK CRL", v.pckCRL.ThisUpdate, v.pckCRL.NextUpdate)
		for _, s := range v.signers {
			if v.rootRevoked[serialKey(s.SerialNumber.Bytes())] {
				return nil, verify.Errorf(verify.ErrRevoked, "collateral signing certificate %q serial %x is revoked by the Root CA CRL", s.Subject.CommonName, s.SerialNumber)
			}
		}
		if v.rootRevoked[serialKey(v.pckCRLCA.SerialNumber.Bytes())] {
			return nil, verify.Errorf(verify.ErrRevoked, "PCK CRL issuer %q serial %x is revoked by the Root CA CRL", v.pckCRLCA.Subject.CommonName, v.pckCRLCA.SerialNumber)
		}
	}
	win.merge(certs)
	v.notBefore, v.notAfter, v.notBeforeItem, v.notAfterItem = win.from, win.to, win.fromItem, win.toItem
	v.certNotBefore, v.certNotAfter, v.certNotBeforeItem, v.certNotAfterItem = certs.from, certs.to, certs.fromItem, certs.toItem
	v.issueDates = [2]time.Time{minTime(v.tcb.IssueDate, v.qe.IssueDate), maxTime(v.tcb.IssueDate, v.qe.IssueDate)}
	return v, nil
}

func (t *trust) checkCRLSignedByRoot(crl *x509.RevocationList) error {
	for _, r := range t.roots {
		if bytes.Equal(crl.RawIssuer, r.RawSubject) && crl.CheckSignatureFrom(r) == nil {
			return nil
		}
	}
	return verify.Errorf(verify.ErrSignature, "Root CA CRL: issuer %q is not signed by a pinned root", crl.Issuer.CommonName)
}

func revokedSet(crl *x509.RevocationList) map[string]bool {
	m := make(map[string]bool, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		m[serialKey(e.SerialNumber.Bytes())] = true
	}
	return m
}

// checkValidity re-checks the validity windows of every item at now.
func (v *verifiedCollateral) checkValidity(now time.Time) error {
	_, err := v.checkValidityGrace(now, 0)
	return err
}

// checkValidityGrace is checkValidity accepting items whose validity ended at
// most grace ago; stale reports whether that grace was used. The grace never
// applies to the certificates of the issuer chains, as on the cold path.
func (v *verifiedCollateral) checkValidityGrace(now time.Time, grace time.Duration) (stale bool, err error) {
	if now.Before(v.certNotBefore) {
		return false, verify.Errorf(verify.ErrChain, "%s is not valid before %s (verification time %s): %w",
			v.certNotBeforeItem, rfc3339(v.certNotBefore), rfc3339(now), verify.ErrExpired)
	}
	if now.After(v.certNotAfter) {
		return false, verify.Errorf(verify.ErrChain, "%s expired at %s (verification time %s): %w",
			v.certNotAfterItem, rfc3339(v.certNotAfter), rfc3339(now), verify.ErrExpired)
	}
	if now.After(v.notAfter) && grace > 0 && !now.After(v.notAfter.Add(grace)) && !now.Before(v.notBefore) {
		return true, nil
	}
	return false, v.checkWindow(now)
}

func (v *verifiedCollateral) checkWindow(now time.Time) error {
	if now.Before(v.notBefore) {
		return verify.Errorf(verify.ErrCollateral, "%s is not valid before %s (verification time %s): %w",
			v.notBeforeItem, rfc3339(v.notBefore), rfc3339(now), verify.ErrExpired)
	}
	if now.After(v.notAfter) {
		return verify.Errorf(verify.ErrCollateral, "%s expired at %s (verification time %s): %w",
			v.notAfterItem, rfc3339(v.notAfter), rfc3339(now), verify.ErrExpired)
	}
	return nil
}

// asCollateral gives a failure of the collateral itself (its signature, its
// issuer chain, its validity or its shape) the kind ErrCollateral besides
// its own: such a failure says nothing about the quote, and
// verify.FailureVector reads it as collateral, not as a cryptographic
// failure of the evidence.
func asCollateral(err error) error {
	if err == nil || errors.Is(err, verify.ErrCollateral) {
		return err
	}
	return verify.Errorf(verify.ErrCollateral, "%w", err)
}

// window is the intersection of validity periods. A zero bound added to it
// is kept as the zero time (an empty window), never skipped, so an item
// without an end cannot widen the window of the others. It remembers which
// item set each bound, so that a message can say which one expired.
type window struct {
	from, to         time.Time
	fromItem, toItem string // "TCB info (issueDate)", "PCK CRL (nextUpdate)"
	set              bool
}

// add narrows w to the validity from..to of the item named item, whose
// bounds are the named fields of Intel's collateral.
func (w *window) add(item string, from, to time.Time) {
	start, end := "issueDate", "nextUpdate"
	if strings.HasSuffix(item, "CRL") {
		start = "thisUpdate"
	}
	w.merge(window{from: from, to: to, fromItem: item + " (" + start + ")", toItem: item + " (" + end + ")", set: true})
}

// cert narrows w to the validity of certificate c of the named chain.
func (w *window) cert(chain string, c *x509.Certificate) {
	name := fmt.Sprintf("%s certificate %q", chain, c.Subject.CommonName)
	w.merge(window{from: c.NotBefore, to: c.NotAfter, fromItem: name + " (notBefore)", toItem: name + " (notAfter)", set: true})
}

// merge narrows w to o; an unset o (zero bounds) empties w.
func (w *window) merge(o window) {
	if !w.set || o.from.After(w.from) {
		w.from, w.fromItem = o.from, o.fromItem
	}
	if !w.set || !o.set || o.to.Before(w.to) {
		w.to, w.toItem = o.to, o.toItem
	}
	w.set = true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func checkLevels(levels []tcbLevel, what string, platform bool) error {
	if len(levels) == 0 || len(levels) > maxTCBLevels {
		return verify.Errorf(verify.ErrCollateral, "%s: %d TCB levels (want 1..%d)", what, len(levels), maxTCBLevels)
	}
	for i, l := range levels {
		if !l.TCBStatus.known() {
			return verify.Errorf(verify.ErrCollateral, "%s: level %d has unknown TCB status %q", what, i, l.TCBStatus)
		}
		if platform {
			if len(l.TCB.SGXComponents) != 16 || len(l.TCB.TDXComponents) != 16 || l.TCB.PCESVN == nil {
				return verify.Errorf(verify.ErrCollateral, "%s: level %d must have 16 SGX components, 16 TDX components and a PCESVN (got %d, %d, pcesvn set %v)",
					what, i, len(l.TCB.SGXComponents), len(l.TCB.TDXComponents), l.TCB.PCESVN != nil)
			}
		} else if l.TCB.ISVSVN == nil {
			return verify.Errorf(verify.ErrCollateral, "%s: level %d has no isvsvn", what, i)
		}
	}
	return nil
}

func checkTCBInfo(t *tcbInfo) error {
	if t.ID != "TDX" || t.Version != 3 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: expected id TDX version 3, got id %q version %d", t.ID, t.Version)
	}
	if t.IssueDate.IsZero() || t.NextUpdate.IsZero() || !t.NextUpdate.After(t.IssueDate) {
		return verify.Errorf(verify.ErrCollateral, "TCB info: bad issueDate %s / nextUpdate %s", t.IssueDate, t.NextUpdate)
	}
	if len(t.FMSPC) != 6 || len(t.PCEID) != 2 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: fmspc must be 6 bytes and pceId 2 bytes, got %d and %d", len(t.FMSPC), len(t.PCEID))
	}
	if t.TDXModule == nil || len(t.TDXModule.MRSigner) != 48 || len(t.TDXModule.Attributes) != 8 || len(t.TDXModule.AttributesMask) != 8 {
		return verify.Errorf(verify.ErrCollateral, "TCB info: tdxModule missing or malformed")
	}
	for _, m := range t.TDXModuleIdentities {
		if len(m.MRSigner) != 48 || len(m.Attributes) != 8 || len(m.AttributesMask) != 8 {
			return verify.Errorf(verify.ErrCollateral, "TCB info: TDX module identity %q malformed", m.ID)
		}
		if err := checkLevels(m.TCBLevels, "TCB info module "+m.ID, false); err != nil {
			return err
		}
	}
	return checkLevels(t.TCBLevels, "TCB info", true)
}

func checkQEIdentity(q *qeIdentity) error {
	if q.ID != "TD_QE" || q.Version != 2 {
		return verify.Errorf(verify.ErrCollateral, "QE identity: expected id TD_QE version 2, got id %q version %d", q.ID, q.Version)
	}
	if q.IssueDate.IsZero() || q.NextUpdate.IsZero() || !q.NextUpdate.After(q.IssueDate) {
		return verify.Errorf(verify.ErrCollateral, "QE identity: bad issueDate %s / nextUpdate %s", q.IssueDate, q.NextUpdate)
	}
	if len(q.MiscSelect) != 4 || len(q.MiscSelectMask) != 4 || len(q.Attributes) != 16 || len(q.AttributesMask) != 16 || len(q.MRSigner) != 32 || q.ISVProdID == nil {
		return verify.Errorf(verify.ErrCollateral, "QE identity: miscselect, attributes, mrsigner or isvprodid missing or of the wrong size")
	}
	return checkLevels(q.TCBLevels, "QE identity", false)
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
