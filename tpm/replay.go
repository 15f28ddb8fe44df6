package tpm

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/trustfactory/attest/internal/tcglog"
	"github.com/trustfactory/attest/verify"
)

// ReplayError reports the PCRs whose replayed value differs from the quoted
// one. It has kind verify.ErrBinding.
type ReplayError struct {
	Bank crypto.Hash
	PCRs []int // mismatching PCR indices, ascending
	Want map[int][]byte
	Got  map[int][]byte
}

// Error lists the mismatching PCRs with the quoted and the replayed value of each.
func (e *ReplayError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "event log does not replay to the quoted %v PCRs %v:", e.Bank, e.PCRs)
	for _, i := range e.PCRs {
		fmt.Fprintf(&b, " PCR %d expected %x, got %x;", i, e.Want[i], e.Got[i])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Is makes a ReplayError match verify.ErrBinding.
func (e *ReplayError) Is(target error) bool { return target == verify.ErrBinding }

// Replay extends the log's bank digests into PCRs and compares each PCR the
// log names (EV_NO_ACTION events included) with quoted. An event for a PCR outside quoted is ErrBinding:
// it could not be authenticated. EV_NO_ACTION events are never extended; a
// StartupLocality event sets PCR 0's initial locality (0, 3 or 4) once,
// before any PCR 0 extend.
func Replay(log *EventLog, bank crypto.Hash, quoted map[int][]byte) error {
	if !slices.Contains(log.Algs, bank) {
		return verify.Errorf(verify.ErrMalformed, "event log: no %v bank (the log declares %v); its events cannot be replayed against the quote", bank, log.Algs)
	}
	size := bank.Size()
	var pcrs [maxPCRs][]byte
	var touched, extended [maxPCRs]bool
	localitySet := false
	h := bank.New()
	for i := range log.Events {
		ev := &log.Events[i]
		if ev.Type == EvNoAction {
			if bytes.HasPrefix(ev.Data, []byte(startupLocalitySignature)) {
				if err := startupLocality(ev, &pcrs, extended[0] || localitySet, size); err != nil {
					return err
				}
				localitySet = true
			}
			// Never extended, but its PCR must still replay: a NO_ACTION
			// event alone in a PCR whose quoted value is not the reset value
			// was extended by whoever produced the quote.
			if pcrs[ev.PCR] == nil {
				pcrs[ev.PCR] = make([]byte, size)
			}
			touched[ev.PCR] = true
			continue
		}
		if _, ok := quoted[ev.PCR]; !ok {
			return verify.Errorf(verify.ErrBinding, "event log: event %d (type %#x) extends PCR %d, which the quote does not cover", ev.Seq, ev.Type, ev.PCR)
		}
		if pcrs[ev.PCR] == nil {
			pcrs[ev.PCR] = make([]byte, size)
		}
		touched[ev.PCR], extended[ev.PCR] = true, true
		pcrs[ev.PCR] = tcglog.Extend(h, pcrs[ev.PCR], ev.Digest(bank))
	}
	var bad []int
	for i := range maxPCRs {
		if touched[i] && subtle.ConstantTimeCompare(pcrs[i], quoted[i]) != 1 {
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		e := &ReplayError{Bank: bank, PCRs: bad, Want: map[int][]byte{}, Got: map[int][]byte{}}
		for _, i := range bad {
			e.Want[i], e.Got[i] = quoted[i], pcrs[i]
		}
		return e
	}
	return nil
}

func startupLocality(ev *Event, pcrs *[maxPCRs][]byte, late bool, size int) error {
	if ev.PCR != 0 {
		return verify.Errorf(verify.ErrMalformed, "event log: event %d: StartupLocality event for PCR %d; it may only initialise PCR 0", ev.Seq, ev.PCR)
	}
	if len(ev.Data) != len(startupLocalitySignature)+1 {
		return verify.Errorf(verify.ErrMalformed, "event log: event %d: StartupLocality event of %d bytes, expected %d", ev.Seq, len(ev.Data), len(startupLocalitySignature)+1)
	}
	if late {
		return verify.Errorf(verify.ErrMalformed, "event log: event %d: StartupLocality event after PCR 0 was initialised or extended", ev.Seq)
	}
	loc := ev.Data[len(startupLocalitySignature)]
	if loc != 0 && loc != 3 && loc != 4 {
		return verify.Errorf(verify.ErrMalformed, "event log: event %d: StartupLocality %d, expected 0, 3 or 4", ev.Seq, loc)
	}
	pcrs[0] = make([]byte, size)
	pcrs[0][size-1] = loc
	return nil
}

// LogClaims are the facts extracted from an event log that replayed against
// quoted PCRs. Only data whose digest was checked, or digests themselves,
// reach these fields; event types are trusted only where the rules of the
// PCR allow no ambiguity.
type LogClaims struct {
	SecureBoot *SecureBoot // nil when PCR 7 carries no SecureBoot variable
	BootApps   []string    // hex digests of EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4
	// BootAppsIncomplete: PCR 4 holds an event of a type whose digest
	// nothing checks (EV_IPL, EV_COMPACT_HASH, EV_EVENT_TAG); a retyped
	// application could hide there, so BootApps is nil.
	BootAppsIncomplete bool
	GRUB               *GRUB   // nil when PCRs 8/9 hold no GRUB measurements
	KernelCmdline      *string // from GRUB's kernel_cmdline command, when exactly one
	SCRTMVersion       []byte  // EV_S_CRTM_VERSION data in PCR 0 (digest verified)
	// SCRTMVersionUnverified: an EV_S_CRTM_VERSION event's data did not
	// hash to its digest, so no version is claimed from it.
	SCRTMVersionUnverified bool
	GCEFirmware            *uint32 // GCE virtual firmware version decoded from SCRTMVersion
	GCETechnology          *string // GCE confidential technology from EV_NONHOST_INFO
	Events                 int     // events replayed
	// UnexplainedPCRs are quoted PCRs that no log event extends although
	// their value is not a reset value (all zeros or all ones): the log does
	// not describe what was measured there (Linux IMA's PCR 10, for example).
	UnexplainedPCRs  []int
	SeparatorsInPCRs []int // PCRs 0-7 that carry a separator
}

// clone returns a deep copy, so that cached claims never alias returned ones.
func (l *LogClaims) clone() *LogClaims {
	c := *l
	c.BootApps = slices.Clone(l.BootApps)
	c.SCRTMVersion = slices.Clone(l.SCRTMVersion)
	c.SeparatorsInPCRs = slices.Clone(l.SeparatorsInPCRs)
	c.UnexplainedPCRs = slices.Clone(l.UnexplainedPCRs)
	if l.KernelCmdline != nil {
		s := *l.KernelCmdline
		c.KernelCmdline = &s
	}
	if l.GCEFirmware != nil {
		n := *l.GCEFirmware
		c.GCEFirmware = &n
	}
	if l.GCETechnology != nil {
		s := *l.GCETechnology
		c.GCETechnology = &s
	}
	if l.GRUB != nil {
		c.GRUB = &GRUB{Commands: slices.Clone(l.GRUB.Commands), Files: slices.Clone(l.GRUB.Files), FilesIncomplete: l.GRUB.FilesIncomplete}
	}
	if sb := l.SecureBoot; sb != nil {
		n := *sb
		n.Authority = slices.Clone(sb.Authority)
		n.OtherVars = slices.Clone(sb.OtherVars)
		n.VarDigests = maps.Clone(sb.VarDigests)
		n.PK, n.KEK, n.DB, n.DBX = sb.PK.clone(), sb.KEK.clone(), sb.DB.clone(), sb.DBX.clone()
		c.SecureBoot = &n
	}
	return &c
}

func (d *SigDB) clone() *SigDB {
	if d == nil {
		return nil
	}
	return &SigDB{SHA256: d.SHA256, Certs: slices.Clone(d.Certs), Hashes: slices.Clone(d.Hashes), Other: d.Other}
}

// SecureBoot is the UEFI Secure Boot state measured into PCR 7.
type SecureBoot struct {
	Enabled   bool
	PK, KEK   *SigDB
	DB, DBX   *SigDB
	Authority []string // SHA-256 of certificate DER of EV_EFI_VARIABLE_AUTHORITY events
	// AuthorityUnverified counts authority events whose data did not parse
	// or hash to their digest, and SPDM device policy/authority events (not
	// interpreted, and indistinguishable from a retyped authority); they
	// contribute nothing else. When it is not zero, Authority may be partial.
	AuthorityUnverified int
	OtherVars           []string // names of other variables measured before the separator
	Separator           bool     // PCR 7 separator seen
	VarDigests          map[string]string
}

// SigDB summarises an EFI signature database variable.
type SigDB struct {
	SHA256 string   // SHA-256 of the whole variable data
	Certs  []string // SHA-256 of each X.509 certificate DER
	Hashes []string // SHA-256 hashes listed (EFI_CERT_SHA256_GUID)
	Other  int      // entries of other signature types
}

// GRUB holds what GRUB measured into PCRs 8 and 9.
type GRUB struct {
	Commands []string   // PCR 8, prefix included, digest verified
	Files    []GRUBFile // PCR 9; nil when FilesIncomplete
	// FilesIncomplete: PCR 9 also holds events of other types (for example
	// the Linux EFI stub's EV_EVENT_TAG for the initrd), whose digests
	// nothing checks; a retyped file could hide there, so Files is nil.
	FilesIncomplete bool
}

// GRUBFile is a file GRUB read; the name is not measured.
type GRUBFile struct {
	Digest            string
	UntrustedFilename string
}

var (
	separatorZero = []byte{0, 0, 0, 0}
	separatorOnes = []byte{0xff, 0xff, 0xff, 0xff}
	// GRUB measurement prefixes (GRUB manual, "Measured Boot"; older Fedora patches).
	grubPrefixes          = []string{"grub_cmd: ", "kernel_cmdline: ", "module_cmdline: ", "grub_kernel_cmdline ", "grub_cmd "}
	grubCmdlinePrefixes   = []string{"kernel_cmdline: ", "grub_kernel_cmdline "}
	gceFirmwarePrefix     = []byte("G\x00C\x00E\x00 \x00V\x00i\x00r\x00t\x00u\x00a\x00l\x00 \x00F\x00i\x00r\x00m\x00w\x00a\x00r\x00e\x00 \x00v\x00")
	gceNonHostInfoSig     = []byte("GCE NonHostInfo\x00")
	gceTechnologies       = []string{"NONE", "AMD_SEV", "AMD_SEV_ES", "INTEL_TDX", "AMD_SEV_SNP"}
	efiGlobalVariable     = guid("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	efiImageSecurityDB    = guid("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	efiCertX509GUID       = guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	efiCertSHA256GUID     = guid("c1c41626-504c-4092-aca9-41f936934328")
	pcr7AllowedEventTypes = []uint32{EvEFIVariableDriverConfig, EvEFIVariableAuthority, EvSeparator, EvEFIAction, EvNoAction, EvEFISPDMDevicePolicy, EvEFISPDMDeviceAuthority}
	pcr4AllowedEventTypes = []uint32{EvEFIBootServicesApp, EvEFIAction, EvSeparator, EvNoAction, EvIPL, EvCompactHash, EvEventTag}
)

func digestOf(bank crypto.Hash, data []byte) []byte {
	h := bank.New()
	h.Write(data)
	return h.Sum(nil)
}

func digestMatches(bank crypto.Hash, ev *Event, data []byte) bool {
	var buf [64]byte
	h := bank.New()
	h.Write(data)
	return bytes.Equal(h.Sum(buf[:0]), ev.Digest(bank))
}

// unexplainedPCRs lists the quoted PCRs that no event of log extends and
// that hold neither the all-zero nor the all-ones reset value.
func unexplainedPCRs(log *EventLog, quoted map[int][]byte) []int {
	var named [maxPCRs]bool
	for i := range log.Events {
		if log.Events[i].Type != EvNoAction {
			named[log.Events[i].PCR] = true
		}
	}
	var out []int
	for i := range maxPCRs {
		v, ok := quoted[i]
		if ok && !named[i] && !isResetValue(v) {
			out = append(out, i)
		}
	}
	return out
}

// Extract derives LogClaims from a log that Replay accepted in bank. It
// fails with ErrPolicy when PCR 4 or 7 holds an event whose type the PC Client
// profile does not allow there (a retyped event could hide a measurement from
// the claims), with ErrBinding when a self-describing event's data does not
// hash to its digest, and with ErrMalformed when such data does not parse.
// Where an allowed type carries no checkable data (EV_IPL, EV_COMPACT_HASH,
// EV_EVENT_TAG in PCR 4) the claim it could hide from is withheld instead
// (BootAppsIncomplete).
func Extract(log *EventLog, bank crypto.Hash) (*LogClaims, error) {
	c := &LogClaims{}
	sepZero, sepOnes := digestOf(bank, separatorZero), digestOf(bank, separatorOnes)
	var sepSeen [maxPCRs]bool
	var grub GRUB
	var cmdlines []string
	grubOK := true
	for i := range log.Events {
		ev := &log.Events[i]
		if ev.Type == EvNoAction {
			continue
		}
		c.Events++
		d := ev.Digest(bank)
		isSepDigest := bytes.Equal(d, sepZero) || bytes.Equal(d, sepOnes)
		if ev.Type == EvSeparator {
			if !bytes.Equal(ev.Data, separatorZero) && !bytes.Equal(ev.Data, separatorOnes) {
				return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: EV_SEPARATOR data %x, expected 00000000 or ffffffff", ev.Seq, ev.Data)
			}
			if !digestMatches(bank, ev, ev.Data) {
				return nil, verify.Errorf(verify.ErrBinding, "event log: event %d: EV_SEPARATOR digest %x is not the %v of its data %x", ev.Seq, d, bank, ev.Data)
			}
			if ev.PCR < 8 && !sepSeen[ev.PCR] {
				sepSeen[ev.PCR] = true
				c.SeparatorsInPCRs = append(c.SeparatorsInPCRs, ev.PCR)
			}
		} else if isSepDigest {
			switch ev.PCR {
			case 4, 7:
				// Where claims depend on the separator's place, a retyped
				// separator could move measurements across it.
				return nil, verify.Errorf(verify.ErrPolicy, "event log: event %d in PCR %d has a separator digest but type %#x: retyped separator", ev.Seq, ev.PCR, ev.Type)
			case 0:
				// Real firmware measures such blobs into PCR 0 (S-CRTM
				// contents); stop trusting PCR 0 events here, as after a separator.
				sepSeen[0] = true
				continue
			}
		}
		if ev.Type == EvEFIAction && !digestMatches(bank, ev, ev.Data) {
			return nil, verify.Errorf(verify.ErrBinding, "event log: event %d: EV_EFI_ACTION digest %x is not the %v of %q", ev.Seq, d, bank, ev.Data)
		}
		switch ev.PCR {
		case 0:
			if sepSeen[0] {
				break
			}
			switch ev.Type {
			case EvSCRTMVersion:
				// Some firmware measures another form of the version than
				// it logs; such a version is unverified and not claimed.
				if !digestMatches(bank, ev, ev.Data) {
					c.SCRTMVersionUnverified = true
					break
				}
				c.SCRTMVersion = ev.Data
				if v, ok := gceFirmwareVersion(ev.Data); ok {
					c.GCEFirmware = &v
				}
			case EvNonhostInfo:
				if digestMatches(bank, ev, ev.Data) && bytes.HasPrefix(ev.Data, gceNonHostInfoSig) && len(ev.Data) > len(gceNonHostInfoSig) {
					if t := int(ev.Data[len(gceNonHostInfoSig)]); t < len(gceTechnologies) {
						c.GCETechnology = &gceTechnologies[t]
					}
				}
			}
		case 4:
			if !slices.Contains(pcr4AllowedEventTypes, ev.Type) {
				return nil, verify.Errorf(verify.ErrPolicy, "event log: event %d: type %#x is not allowed in PCR 4 (boot applications)", ev.Seq, ev.Type)
			}
			switch ev.Type {
			case EvEFIBootServicesApp:
				c.BootApps = append(c.BootApps, hex.EncodeToString(d))
			case EvIPL, EvCompactHash, EvEventTag:
				// Nothing ties such an event's data to its digest: it may be
				// a retyped application, so the list would be partial.
				c.BootAppsIncomplete = true
			}
		case 7:
			if err := c.pcr7(ev, bank, sepSeen[7]); err != nil {
				return nil, err
			}
		case 8:
			// Every PCR 8 event counts, EV_EVENT_TAG included: its data is
			// not tied to its digest, so it could be a retyped command.
			cmd, isGRUB, ok := grubCommand(ev, bank)
			if isGRUB && !ok {
				return nil, verify.Errorf(verify.ErrBinding, "event log: event %d: GRUB measurement %q does not hash to its digest %x", ev.Seq, ev.Data, d)
			}
			if !isGRUB {
				grubOK = false
				continue
			}
			grub.Commands = append(grub.Commands, cmd)
			for _, p := range grubCmdlinePrefixes {
				if strings.HasPrefix(cmd, p) {
					cmdlines = append(cmdlines, strings.TrimSuffix(cmd[len(p):], "\x00"))
				}
			}
		case 9:
			if ev.Type == EvIPL {
				grub.Files = append(grub.Files, GRUBFile{Digest: hex.EncodeToString(d), UntrustedFilename: strings.TrimSuffix(string(ev.Data), "\x00")})
			} else {
				// Another type (the Linux EFI stub's initrd EV_EVENT_TAG, or
				// a retyped file): the file list cannot be known complete.
				grub.FilesIncomplete = true
			}
		}
	}
	if c.SecureBoot != nil {
		c.SecureBoot.Separator = sepSeen[7]
	}
	if c.BootAppsIncomplete {
		c.BootApps = nil
	}
	// GRUB claims only when every PCR 8 measurement is an authenticated GRUB
	// command: otherwise something else shares PCR 8 and the list is partial.
	hadGRUB := len(grub.Commands) > 0 || len(grub.Files) > 0
	if grub.FilesIncomplete {
		grub.Files = nil
	}
	if grubOK && hadGRUB {
		c.GRUB = &grub
		if len(cmdlines) == 1 {
			c.KernelCmdline = &cmdlines[0]
		}
	}
	return c, nil
}

// grubCommand reports whether ev is a GRUB command measurement (EV_IPL with a
// known prefix) and whether its digest is the hash of the text after the
// prefix (with or without its NUL).
func grubCommand(ev *Event, bank crypto.Hash) (cmd string, isGRUB, verified bool) {
	if ev.Type != EvIPL {
		return "", false, false
	}
	for _, p := range grubPrefixes {
		if !bytes.HasPrefix(ev.Data, []byte(p)) {
			continue
		}
		body := ev.Data[len(p):]
		// GRUB measures the text without its NUL; try that form first.
		if (len(body) > 0 && body[len(body)-1] == 0 && digestMatches(bank, ev, body[:len(body)-1])) || digestMatches(bank, ev, body) {
			return strings.TrimSuffix(string(ev.Data), "\x00"), true, true
		}
		return "", true, false
	}
	return "", false, false
}

func (c *LogClaims) pcr7(ev *Event, bank crypto.Hash, afterSeparator bool) error {
	if !slices.Contains(pcr7AllowedEventTypes, ev.Type) {
		return verify.Errorf(verify.ErrPolicy, "event log: event %d: type %#x is not allowed in PCR 7 (Secure Boot policy)", ev.Seq, ev.Type)
	}
	if c.SecureBoot == nil {
		c.SecureBoot = &SecureBoot{VarDigests: map[string]string{}}
	}
	sb := c.SecureBoot
	switch ev.Type {
	case EvEFIVariableAuthority:
		// Informational: firmware and shims disagree on how to measure
		// authorities (some hash malformed UEFI_VARIABLE_DATA), so an event
		// that does not verify is counted, never trusted.
		v, err := parseUEFIVariable(ev)
		if err != nil || !digestMatches(bank, ev, ev.Data) || len(v.data) <= 16 {
			sb.AuthorityUnverified++
			return nil
		}
		// EFI_SIGNATURE_DATA: owner GUID, then the certificate (or hash).
		sb.Authority = append(sb.Authority, hex.EncodeToString(digestOf(crypto.SHA256, v.data[16:])))
		return nil
	case EvEFISPDMDevicePolicy, EvEFISPDMDeviceAuthority:
		// Not interpreted, and an authority event retyped to one of these
		// would otherwise vanish: count it with the authorities not taken.
		sb.AuthorityUnverified++
		return nil
	case EvEFIVariableDriverConfig:
	default:
		return nil
	}
	if !digestMatches(bank, ev, ev.Data) {
		return verify.Errorf(verify.ErrBinding, "event log: event %d: UEFI variable event digest %x is not the %v of its data", ev.Seq, ev.Digest(bank), bank)
	}
	v, err := parseUEFIVariable(ev)
	if err != nil {
		return err
	}
	key := v.key()
	if key == "" {
		if afterSeparator {
			return nil // e.g. shim's SbatLevel / MokList state
		}
		sb.OtherVars = append(sb.OtherVars, v.name)
		return nil
	}
	if afterSeparator {
		return verify.Errorf(verify.ErrPolicy, "event log: event %d: Secure Boot variable %s measured after the PCR 7 separator", ev.Seq, key)
	}
	if _, dup := sb.VarDigests[key]; dup {
		return verify.Errorf(verify.ErrPolicy, "event log: event %d: Secure Boot variable %s measured twice", ev.Seq, key)
	}
	varDigest := hex.EncodeToString(digestOf(crypto.SHA256, v.data))
	sb.VarDigests[key] = varDigest
	if key == "SecureBoot" {
		switch len(v.data) {
		case 0:
		case 1:
			sb.Enabled = v.data[0] == 1
		default:
			return verify.Errorf(verify.ErrMalformed, "event log: event %d: SecureBoot variable of %d bytes, expected 1", ev.Seq, len(v.data))
		}
		return nil
	}
	db, err := parseSigDB(ev.Seq, v.data, varDigest)
	if err != nil {
		return err
	}
	switch key {
	case "PK":
		sb.PK = db
	case "KEK":
		sb.KEK = db
	case "db":
		sb.DB = db
	case "dbx":
		sb.DBX = db
	}
	return nil
}

type uefiVariable struct {
	guid [16]byte
	name string
	data []byte
}

// key names the Secure Boot variables whose place in the log matters.
func (v *uefiVariable) key() string {
	switch {
	case v.guid == efiGlobalVariable && (v.name == "SecureBoot" || v.name == "PK" || v.name == "KEK"):
		return v.name
	case v.guid == efiImageSecurityDB && (v.name == "db" || v.name == "dbx"):
		return v.name
	}
	return ""
}

// parseUEFIVariable parses UEFI_VARIABLE_DATA: every length is checked
// against the bytes present before anything is sliced.
func parseUEFIVariable(ev *Event) (*uefiVariable, error) {
	b := ev.Data
	if len(b) < 32 {
		return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: UEFI_VARIABLE_DATA of %d bytes, shorter than its 32-byte header", ev.Seq, len(b))
	}
	v := &uefiVariable{}
	copy(v.guid[:], b[:16])
	nameLen, dataLen := binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])
	rest := uint64(len(b) - 32)
	if nameLen > rest/2 || dataLen != rest-2*nameLen {
		return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: UEFI_VARIABLE_DATA UnicodeNameLength %d and VariableDataLength %d do not fit the %d bytes after the header", ev.Seq, nameLen, dataLen, rest)
	}
	name := b[32 : 32+2*nameLen]
	runes := make([]rune, 0, nameLen)
	for i := 0; i < len(name); i += 2 {
		runes = append(runes, rune(uint16(name[i])|uint16(name[i+1])<<8))
	}
	v.name = strings.TrimRight(string(runes), "\x00")
	v.data = b[32+2*nameLen:]
	return v, nil
}

// parseSigDB parses a list of EFI_SIGNATURE_LISTs.
func parseSigDB(seq int, b []byte, sha string) (*SigDB, error) {
	db := &SigDB{SHA256: sha}
	for len(b) > 0 {
		if len(b) < 28 {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: EFI_SIGNATURE_LIST header needs 28 bytes, %d left", seq, len(b))
		}
		var typ [16]byte
		copy(typ[:], b)
		le := binary.LittleEndian
		listSize, hdrSize, sigSize := uint64(le.Uint32(b[16:])), uint64(le.Uint32(b[20:])), uint64(le.Uint32(b[24:]))
		if listSize < 28 || listSize > uint64(len(b)) {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: SignatureListSize %d, expected 28..%d", seq, listSize, len(b))
		}
		if sigSize < 16 {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: SignatureSize %d, expected at least 16 (owner GUID)", seq, sigSize)
		}
		if hdrSize > listSize-28 || (listSize-28-hdrSize)%sigSize != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d: SignatureHeaderSize %d and SignatureSize %d do not divide SignatureListSize %d", seq, hdrSize, sigSize, listSize)
		}
		sigs := b[28+hdrSize : listSize]
		for len(sigs) > 0 {
			entry := sigs[16:sigSize] // after the owner GUID
			switch typ {
			case efiCertX509GUID:
				db.Certs = append(db.Certs, hex.EncodeToString(digestOf(crypto.SHA256, entry)))
			case efiCertSHA256GUID:
				db.Hashes = append(db.Hashes, hex.EncodeToString(entry))
			default:
				db.Other++
			}
			sigs = sigs[sigSize:]
		}
		b = b[listSize:]
	}
	return db, nil
}

func gceFirmwareVersion(v []byte) (uint32, bool) {
	if !bytes.HasPrefix(v, gceFirmwarePrefix) || len(v)%2 != 0 {
		return 0, false
	}
	var n uint32
	digits := 0
	for i := len(gceFirmwarePrefix); i+1 < len(v); i += 2 {
		c, hi := v[i], v[i+1]
		if hi != 0 {
			return 0, false
		}
		if c == 0 {
			break
		}
		if c < '0' || c > '9' || digits >= 9 {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
		digits++
	}
	return n, digits > 0
}

// guid encodes a textual GUID in the mixed-endian EFI_GUID byte order.
func guid(s string) [16]byte {
	s = strings.ReplaceAll(s, "-", "")
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 16 {
		panic("tpm: bad GUID literal " + s)
	}
	var g [16]byte
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g
}

// replayedLog is what a log that Replay accepted yields in one bank,
// independent of the quote it was checked against: the values of the PCRs
// it touches, the first event extending each PCR, and its claims.
type replayedLog struct {
	pcrs    [maxPCRs][]byte
	touched [maxPCRs]bool
	first   [maxPCRs]*Event // first event other than EV_NO_ACTION per PCR
	at      [maxPCRs]int    // its index in the log
	claims  *LogClaims
	raw     []byte // the log's bytes when keyed by maphash (see logKey)
}

// newReplayedLog records log, which Replay accepted in bank: no event in it
// can fail replay except by naming a PCR a quote does not cover.
func newReplayedLog(log *EventLog, bank crypto.Hash, claims *LogClaims) *replayedLog {
	r := &replayedLog{claims: claims}
	size := bank.Size()
	h := bank.New()
	for i := range log.Events {
		ev := &log.Events[i]
		if r.pcrs[ev.PCR] == nil {
			r.pcrs[ev.PCR] = make([]byte, size)
		}
		r.touched[ev.PCR] = true
		if ev.Type == EvNoAction {
			if bytes.HasPrefix(ev.Data, []byte(startupLocalitySignature)) {
				// Replay accepted it, so it is well formed and comes first.
				r.pcrs[0][size-1] = ev.Data[len(startupLocalitySignature)]
			}
			continue
		}
		if r.first[ev.PCR] == nil {
			e := *ev
			e.Data = nil // only Seq, PCR and Type name it in errors
			r.first[ev.PCR], r.at[ev.PCR] = &e, i
		}
		r.pcrs[ev.PCR] = tcglog.Extend(h, r.pcrs[ev.PCR], ev.Digest(bank))
	}
	return r
}

// check fails exactly where Replay would for the log against quoted.
func (r *replayedLog) check(bank crypto.Hash, quoted map[int][]byte) error {
	var uncovered *Event
	at := 0
	for i := range maxPCRs {
		if e := r.first[i]; e != nil {
			if _, ok := quoted[i]; !ok && (uncovered == nil || r.at[i] < at) {
				uncovered, at = e, r.at[i]
			}
		}
	}
	if uncovered != nil {
		return verify.Errorf(verify.ErrBinding, "event log: event %d (type %#x) extends PCR %d, which the quote does not cover", uncovered.Seq, uncovered.Type, uncovered.PCR)
	}
	var bad []int
	for i := range maxPCRs {
		if r.touched[i] && subtle.ConstantTimeCompare(r.pcrs[i], quoted[i]) != 1 {
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		e := &ReplayError{Bank: bank, PCRs: bad, Want: map[int][]byte{}, Got: map[int][]byte{}}
		for _, i := range bad {
			e.Want[i], e.Got[i] = quoted[i], bytes.Clone(r.pcrs[i])
		}
		return e
	}
	return nil
}

// unexplained is unexplainedPCRs for the log.
func (r *replayedLog) unexplained(quoted map[int][]byte) []int {
	var out []int
	for i := range maxPCRs {
		v, ok := quoted[i]
		if ok && r.first[i] == nil && !isResetValue(v) {
			out = append(out, i)
		}
	}
	return out
}

// isResetValue reports whether v counts as a PCR's reset value: trimming
// it of "\x00", or of "\xff", leaves nothing. The common cases, all zero
// and all 0xFF bytes, are decided without bytes.Trim, whose non-ASCII
// cutset decodes runes (and so also trims other bytes that are not UTF-8).
func isResetValue(v []byte) bool {
	zero, ones := true, true
	for _, b := range v {
		zero = zero && b == 0
		ones = ones && b == 0xff
	}
	if zero || ones {
		return true
	}
	return len(bytes.Trim(v, "\x00")) == 0 || len(bytes.Trim(v, "\xff")) == 0
}
