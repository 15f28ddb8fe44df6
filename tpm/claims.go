package tpm

import (
	"crypto"
	"encoding/hex"
	"fmt"

	"github.com/trustfactory/attest/verify"
)

// AKClaims describe the attestation key that signed the quote.
type AKClaims struct {
	Fingerprint       []byte // SHA-256 of the AK's DER SubjectPublicKeyInfo
	Name              []byte // TPM name (nameAlg ‖ H(TPMT_PUBLIC)) when the public area was given
	Trust             string // "pinned-key", "certificate", or "bound" (VerifyBoundAK)
	CertSubject       string // subject of the AK certificate, when trusted by chain
	AttributesChecked bool   // the TPMT_PUBLIC showed a restricted, fixedTPM signing key
}

// Claims are the facts a TPM verification established: the quoted PCR
// values, the AK, the quote's clock and firmware, and what the replayed event
// log shows.
type Claims struct {
	Bank            crypto.Hash
	PCRs            map[int][]byte // quoted PCR values (only those the signature covers)
	AK              AKClaims
	ExtraData       []byte
	Clock           ClockInfo
	FirmwareVersion uint64
	QualifiedSigner []byte
	Log             *LogClaims // nil when the evidence carried no event log
	// AAEL are the Attestation-Agent runtime events of the evidence's AA
	// event log, replayed into the PCRs they name.
	AAEL             []AAELEvent
	SHA1Unsafe       bool // the SHA-1 bank was accepted
	ReportDataUnsafe bool // extraData was not checked (AllowMissingReportDataUnsafe)
	InitDataChecked  bool // PCR 8 matched Expectations.InitDataDigest
}

var _ verify.Claims = (*Claims)(nil)

// UnsafeSwitches implements verify.UnsafeReporter: UnsafeSHA1 when the
// SHA-1 bank was accepted, verify.UnsafeMissingReportData when extraData
// was not checked.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	var out []verify.UnsafeSwitch
	if c.SHA1Unsafe {
		out = append(out, UnsafeSHA1)
	}
	if c.ReportDataUnsafe {
		out = append(out, verify.UnsafeMissingReportData)
	}
	return out
}

// Format returns verify.FormatTPM.
func (c *Claims) Format() verify.Format { return verify.FormatTPM }

// Map returns the flat claim view: "pcr_bank", "pcr00".."pcr23" (hex),
// "ak.*", "quote.*", "eventlog.*", "secure_boot.*", "boot_apps" (or
// "boot_apps_incomplete" when the list cannot be complete), "grub.*",
// "kernel_cmdline", "platform.*", "aael" (the AA event log's events,
// {"<domain>/<operation>": [content, …]}, as Trustee names them) and "unsafe"
// (verify.ClaimUnsafe) keys.
func (c *Claims) Map() map[string]any {
	m := map[string]any{
		"pcr_bank":               bankName(c.Bank),
		"ak.fingerprint":         hex.EncodeToString(c.AK.Fingerprint),
		"ak.trust":               c.AK.Trust,
		"ak.attributes_checked":  c.AK.AttributesChecked,
		"quote.extra_data":       hex.EncodeToString(c.ExtraData),
		"quote.clock":            c.Clock.Clock,
		"quote.reset_count":      c.Clock.ResetCount,
		"quote.restart_count":    c.Clock.RestartCount,
		"quote.clock_safe":       c.Clock.Safe,
		"quote.firmware_version": fmt.Sprintf("%016x", c.FirmwareVersion),
		"report_data":            hex.EncodeToString(c.ExtraData),
		"eventlog.present":       c.Log != nil,
	}
	for i, v := range c.PCRs {
		m[fmt.Sprintf("pcr%02d", i)] = hex.EncodeToString(v)
	}
	if c.InitDataChecked {
		m["init_data"] = hex.EncodeToString(c.PCRs[8])
	}
	if c.AK.Name != nil {
		m["ak.name"] = hex.EncodeToString(c.AK.Name)
	}
	if c.AK.CertSubject != "" {
		m["ak.cert_subject"] = c.AK.CertSubject
	}
	verify.PutUnsafeClaim(m, c.UnsafeSwitches())
	if c.Log != nil {
		c.Log.addTo(m)
	}
	if len(c.AAEL) > 0 {
		m["aael"] = aaelClaims(c.AAEL)
	}
	return m
}

func (l *LogClaims) addTo(m map[string]any) {
	m["eventlog.events"] = l.Events
	m["eventlog.separators"] = append([]int{}, l.SeparatorsInPCRs...)
	m["eventlog.unexplained_pcrs"] = append([]int{}, l.UnexplainedPCRs...)
	if l.BootAppsIncomplete {
		m["boot_apps_incomplete"] = true
	} else {
		m["boot_apps"] = append([]string{}, l.BootApps...)
	}
	if sb := l.SecureBoot; sb != nil {
		m["secure_boot.enabled"] = sb.Enabled
		m["secure_boot.separator"] = sb.Separator
		m["secure_boot.authority"] = append([]string{}, sb.Authority...)
		m["secure_boot.authority_unverified"] = sb.AuthorityUnverified
		m["secure_boot.other_variables"] = append([]string{}, sb.OtherVars...)
		for name, db := range map[string]*SigDB{"pk": sb.PK, "kek": sb.KEK, "db": sb.DB, "dbx": sb.DBX} {
			if db == nil {
				continue
			}
			m["secure_boot."+name+".sha256"] = db.SHA256
			m["secure_boot."+name+".certs"] = append([]string{}, db.Certs...)
			m["secure_boot."+name+".hashes"] = append([]string{}, db.Hashes...)
			m["secure_boot."+name+".other_entries"] = db.Other
		}
	}
	if g := l.GRUB; g != nil {
		m["grub.commands"] = append([]string{}, g.Commands...)
		if g.FilesIncomplete {
			m["grub.files_incomplete"] = true
		} else {
			files := make([]map[string]any, len(g.Files))
			for i, f := range g.Files {
				files[i] = map[string]any{"digest": f.Digest, "untrusted_filename": f.UntrustedFilename}
			}
			m["grub.files"] = files
		}
	}
	if l.KernelCmdline != nil {
		m["kernel_cmdline"] = *l.KernelCmdline
	}
	if l.SCRTMVersionUnverified {
		m["platform.scrtm_version_unverified"] = true
	}
	if l.SCRTMVersion != nil {
		m["platform.scrtm_version"] = hex.EncodeToString(l.SCRTMVersion)
	}
	if l.GCEFirmware != nil {
		m["platform.gce_firmware_version"] = *l.GCEFirmware
	}
	if l.GCETechnology != nil {
		m["platform.gce_technology"] = *l.GCETechnology
	}
}
