package tpmtest

import (
	"crypto"
	"encoding/binary"
	"unicode/utf16"

	"github.com/trustfactory/attest/tpm"
)

// Event is one event of a test event log. Digests holds the measured digest
// per bank; Add fills it with the hash of Data.
type Event struct {
	PCR     int
	Type    uint32
	Data    []byte
	Digests map[crypto.Hash][]byte
}

// EventLog builds a TCG PC Client crypto-agile event log. Events is exported
// so that tests can tamper with it after the PCRs were computed.
type EventLog struct {
	Algs   []crypto.Hash
	Events []Event
	// Locality, when non-zero, adds a StartupLocality EV_NO_ACTION event
	// that starts PCR 0 at that locality.
	Locality byte
}

// NewEventLog returns an empty log with the given banks (default SHA-256 and SHA-384).
func NewEventLog(algs ...crypto.Hash) *EventLog {
	if len(algs) == 0 {
		algs = []crypto.Hash{crypto.SHA256, crypto.SHA384}
	}
	return &EventLog{Algs: algs}
}

// Add measures data into pcr: the digest of each bank is the hash of data.
func (l *EventLog) Add(pcr int, typ uint32, data []byte) *EventLog {
	return l.AddMeasured(pcr, typ, data, data)
}

// AddMeasured records data but measures measured (for events whose digest
// covers something other than their data, such as a PE image).
func (l *EventLog) AddMeasured(pcr int, typ uint32, data, measured []byte) *EventLog {
	ev := Event{PCR: pcr, Type: typ, Data: data, Digests: map[crypto.Hash][]byte{}}
	for _, h := range l.Algs {
		d := h.New()
		d.Write(measured)
		ev.Digests[h] = d.Sum(nil)
	}
	l.Events = append(l.Events, ev)
	return l
}

// PCRs replays the log in bank, as a TPM would have extended it.
func (l *EventLog) PCRs(bank crypto.Hash) map[int][]byte {
	out := map[int][]byte{}
	if l.Locality != 0 {
		z := make([]byte, bank.Size())
		z[len(z)-1] = l.Locality
		out[0] = z
	}
	for _, ev := range l.Events {
		if ev.Type == EvNoAction { // never extended
			continue
		}
		cur, ok := out[ev.PCR]
		if !ok {
			cur = make([]byte, bank.Size())
		}
		h := bank.New()
		h.Write(cur)
		h.Write(ev.Digests[bank])
		out[ev.PCR] = h.Sum(nil)
	}
	return out
}

// Bytes encodes the log: the SHA-1-format Spec ID event, an optional
// StartupLocality event, then the events.
func (l *EventLog) Bytes() []byte {
	spec := []byte("Spec ID Event03\x00")
	spec = le32(spec, 0)            // platformClass
	spec = append(spec, 0, 2, 0, 2) // specVersionMinor, Major, errata, uintnSize
	spec = le32(spec, uint32(len(l.Algs)))
	for _, h := range l.Algs {
		spec = le16(spec, HashAlg(h))
		spec = le16(spec, uint16(h.Size()))
	}
	spec = append(spec, 0) // vendorInfoSize
	var b []byte
	b = le32(b, 0)
	b = le32(b, 3)
	b = append(b, make([]byte, 20)...)
	b = le32(b, uint32(len(spec)))
	b = append(b, spec...)
	if l.Locality != 0 {
		b = l.appendEvent(b, Event{PCR: 0, Type: EvNoAction, Data: append([]byte("StartupLocality\x00"), l.Locality)})
	}
	for _, ev := range l.Events {
		b = l.appendEvent(b, ev)
	}
	return b
}

func (l *EventLog) appendEvent(b []byte, ev Event) []byte {
	b = le32(b, uint32(ev.PCR))
	b = le32(b, ev.Type)
	b = le32(b, uint32(len(l.Algs)))
	for _, h := range l.Algs {
		b = le16(b, HashAlg(h))
		d := ev.Digests[h]
		if d == nil {
			d = make([]byte, h.Size())
		}
		b = append(b, d...)
	}
	b = le32(b, uint32(len(ev.Data)))
	return append(b, ev.Data...)
}

// EFIGlobalVariable() returns the UEFI global-variable vendor GUID (SecureBoot,
// PK, KEK). The GUIDs are functions so that no caller can change what
// StandardBoot measures.
func EFIGlobalVariable() [16]byte {
	return [16]byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}
}

// EFIImageSecurityDB() returns the vendor GUID of the db and dbx variables.
func EFIImageSecurityDB() [16]byte {
	return [16]byte{0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f}
}

// EFICertX509() returns the EFI_CERT_X509 signature-type GUID.
func EFICertX509() [16]byte {
	return [16]byte{0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72}
}

// UEFIVariable encodes UEFI_VARIABLE_DATA.
func UEFIVariable(guid [16]byte, name string, data []byte) []byte {
	u := utf16.Encode([]rune(name))
	b := append([]byte(nil), guid[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(u)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	for _, c := range u {
		b = le16(b, c)
	}
	return append(b, data...)
}

// SignatureList encodes one EFI_SIGNATURE_LIST of X.509 certificates (all
// certs must have the same length, as in a real list).
func SignatureList(typ [16]byte, owner [16]byte, entries ...[]byte) []byte {
	size := 16
	if len(entries) > 0 {
		size += len(entries[0])
	}
	b := append([]byte(nil), typ[:]...)
	b = le32(b, uint32(28+size*len(entries)))
	b = le32(b, 0)
	b = le32(b, uint32(size))
	for _, e := range entries {
		b = append(b, owner[:]...)
		b = append(b, e...)
	}
	return b
}

// Event types used by the standard boot below (the values of package tpm).
const (
	EvNoAction                = tpm.EvNoAction
	EvSeparator               = tpm.EvSeparator
	EvSCRTMVersion            = tpm.EvSCRTMVersion
	EvIPL                     = tpm.EvIPL
	EvEFIVariableDriverConfig = tpm.EvEFIVariableDriverConfig
	EvEFIBootServicesApp      = tpm.EvEFIBootServicesApp
	EvEFIAction               = tpm.EvEFIAction
	EvEFIPlatformFirmwareBlob = tpm.EvEFIPlatformFirmwareBlob
	EvEFIVariableAuthority    = tpm.EvEFIVariableAuthority
	EvUnused                  = tpm.EvUnused
)

// StandardBoot returns a log of a plausible UEFI + GRUB boot: firmware
// version, Secure Boot variables (enabled), separators in PCRs 0-7, one boot
// application, GRUB commands including the kernel command line.
func StandardBoot(algs ...crypto.Hash) *EventLog {
	l := NewEventLog(algs...)
	l.Add(0, EvSCRTMVersion, utf16z("Test Firmware 1.0"))
	l.Add(7, EvEFIVariableDriverConfig, UEFIVariable(EFIGlobalVariable(), "SecureBoot", []byte{1}))
	l.Add(7, EvEFIVariableDriverConfig, UEFIVariable(EFIGlobalVariable(), "PK", SignatureList(EFICertX509(), [16]byte{1}, []byte("pk-cert-der"))))
	l.Add(7, EvEFIVariableDriverConfig, UEFIVariable(EFIGlobalVariable(), "KEK", SignatureList(EFICertX509(), [16]byte{1}, []byte("kek-cert-der"))))
	l.Add(7, EvEFIVariableDriverConfig, UEFIVariable(EFIImageSecurityDB(), "db", SignatureList(EFICertX509(), [16]byte{1}, []byte("db-cert-der1"), []byte("db-cert-der2"))))
	l.Add(7, EvEFIVariableDriverConfig, UEFIVariable(EFIImageSecurityDB(), "dbx", nil))
	for pcr := range 8 {
		l.Add(pcr, EvSeparator, []byte{0, 0, 0, 0})
	}
	l.Add(4, EvEFIAction, []byte("Calling EFI Application from Boot Option"))
	l.AddMeasured(4, EvEFIBootServicesApp, make([]byte, 40), []byte("shimx64.efi image"))
	l.Add(7, EvEFIVariableAuthority, UEFIVariable(EFIImageSecurityDB(), "db", append(make([]byte, 16), []byte("db-cert-der1")...)))
	l.AddMeasured(4, EvEFIBootServicesApp, make([]byte, 40), []byte("grubx64.efi image"))
	l.grub("grub_cmd: ", "set timeout=0")
	l.AddMeasured(9, EvIPL, []byte("(hd0,gpt1)/boot/vmlinuz\x00"), []byte("kernel image"))
	l.grub("grub_cmd: ", "linux /boot/vmlinuz root=/dev/sda1 ro")
	l.grub("kernel_cmdline: ", "/boot/vmlinuz root=/dev/sda1 ro")
	return l
}

func (l *EventLog) grub(prefix, cmd string) {
	l.AddMeasured(8, EvIPL, []byte(prefix+cmd+"\x00"), []byte(cmd))
}

func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s + "\x00")) {
		b = le16(b, c)
	}
	return b
}

// KernelCmdline is the command line StandardBoot measures.
const KernelCmdline = "/boot/vmlinuz root=/dev/sda1 ro"

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
