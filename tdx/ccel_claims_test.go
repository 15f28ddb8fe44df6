package tdx

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

var cosTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func verifyCOS(t *testing.T, ccel []byte) (*Claims, error) {
	t.Helper()
	quote := read(t, "cos-113-tdx-quote.dat")
	ev, _ := json.Marshal(map[string]any{"quote": quote, "cc_eventlog": ccel})
	v := mustVerifier(t, WithoutCollateralUnsafe())
	c, err := v.VerifyQuote(context.Background(), ev, expectQuote(t, quote, cosTime))
	if err != nil && c != nil {
		t.Fatalf("claims with error %v", err)
	}
	return c, err
}

// The kernel command line claim is read from the EV_IPL event's text, which
// no register covers: only the event's digest is replayed. The claim must
// come only from text that hashes to that replayed digest.
func TestKernelCmdlineBoundToDigest(t *testing.T) {
	ccel := read(t, "ccel_data.dat")
	c, err := verifyCOS(t, ccel)
	if err != nil {
		t.Fatal(err)
	}
	real, ok := c.EventLog.KernelCmdline()
	if !ok || !bytes.Contains([]byte(real), []byte(" ro ")) {
		t.Fatalf("real command line %q (%v)", real, ok)
	}
	// Same length, same digests: the log still replays.
	i := bytes.Index(ccel, []byte("kernel_cmdline: "))
	j := bytes.Index(ccel[i:], []byte(" ro "))
	if i < 0 || j < 0 {
		t.Fatal("no kernel_cmdline event with \" ro \"")
	}
	bad := bytes.Clone(ccel)
	copy(bad[i+j:], " rw ")
	c, err = verifyCOS(t, bad)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.EventLog.KernelCmdline(); ok {
		t.Fatalf("kernel command line %q reported from text that does not match its digest", s)
	}
	if s, ok := c.Map()["kernel_cmdline"]; ok {
		t.Fatalf("kernel_cmdline claim %q from text that does not match its digest", s)
	}
}

// A log with a second kernel command line event, authenticated or retyped,
// reports no command line: the first of two measured lines is not the one
// the kernel ran with.
func TestKernelCmdlineOnlyWhenUnique(t *testing.T) {
	ccel := read(t, "ccel_data.dat")
	l, err := ParseCCEL(ccel)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.KernelCmdline(); !ok {
		t.Fatal("the real log has no kernel command line")
	}
	specEnd := 32 + int(binary.LittleEndian.Uint32(ccel[28:]))
	data := []byte("kernel_cmdline: console=ttyS0 init=/bin/sh")
	sum := sha512.Sum384(data[len("kernel_cmdline: "):])
	for _, typ := range []uint32{evIPL, 0x6 /* EV_EVENT_TAG */} {
		var ev []byte
		ev = binary.LittleEndian.AppendUint32(ev, 3) // RTMR2, where GRUB measures
		ev = binary.LittleEndian.AppendUint32(ev, typ)
		ev = binary.LittleEndian.AppendUint32(ev, 1)
		ev = binary.LittleEndian.AppendUint16(ev, algSHA384)
		ev = append(ev, sum[:]...)
		ev = binary.LittleEndian.AppendUint32(ev, uint32(len(data)))
		ev = append(ev, data...)
		two := append(append(append([]byte(nil), ccel[:specEnd]...), ev...), ccel[specEnd:]...)
		l, err := ParseCCEL(two)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := l.KernelCmdline(); ok {
			t.Errorf("event type %#x: kernel command line %q reported from a log with two", typ, s)
		}
	}
	// The only command line, moved to RTMR3 (extended at run time): none.
	i := bytes.Index(ccel, []byte("kernel_cmdline: "))
	for _, e := range l.Events {
		if e.Type == evIPL && strings.HasPrefix(e.Text, "kernel_cmdline: ") && e.MRIndex != 3 {
			t.Fatalf("the real command line is on MR index %d", e.MRIndex)
		}
	}
	moved := bytes.Clone(ccel)
	start := bytes.LastIndex(moved[:i], []byte{3, 0, 0, 0, evIPL, 0, 0, 0})
	if start < 0 {
		t.Fatal("no event header before the command line")
	}
	moved[start] = 4
	if l, err := ParseCCEL(moved); err != nil {
		t.Fatal(err)
	} else if s, ok := l.KernelCmdline(); ok {
		t.Errorf("kernel command line %q reported from RTMR3", s)
	}
}

// An event on CC MR index 0 (MRTD) is covered by no register the log can be
// replayed against, so nothing in it is verified: such a log is refused
// rather than reported.
func TestEventOnMRTDRefused(t *testing.T) {
	ccel := read(t, "ccel_data.dat")
	specEnd := 32 + int(binary.LittleEndian.Uint32(ccel[28:]))
	data := []byte("kernel_cmdline: console=ttyS0 init=/bin/sh")
	sum := sha512.Sum384(data[len("kernel_cmdline: "):])
	var ev []byte
	ev = binary.LittleEndian.AppendUint32(ev, 0)     // MR index 0: MRTD
	ev = binary.LittleEndian.AppendUint32(ev, evIPL) // EV_IPL
	ev = binary.LittleEndian.AppendUint32(ev, 1)
	ev = binary.LittleEndian.AppendUint16(ev, algSHA384)
	ev = append(ev, sum[:]...)
	ev = binary.LittleEndian.AppendUint32(ev, uint32(len(data)))
	ev = append(ev, data...)
	bad := append(append(append([]byte(nil), ccel[:specEnd]...), ev...), ccel[specEnd:]...)
	c, err := verifyCOS(t, bad)
	if !errors.Is(err, verify.ErrBinding) || c != nil {
		var cmd string
		if c != nil {
			cmd, _ = c.EventLog.KernelCmdline()
		}
		t.Fatalf("got claims %v (kernel cmdline %q), err %v; want ErrBinding", c != nil, cmd, err)
	}
}

// AAEL runtime events are reported only when their data is what the
// replayed digest covers.
func TestAAELBoundToDigest(t *testing.T) {
	log := read(t, "CCEL_AAEL_alibabacloud")
	i := bytes.Index(log, []byte("some-operation"))
	if i < 0 {
		t.Fatal("no AAEL event")
	}
	bad := bytes.Clone(log)
	copy(bad[i:], "evil-operation")
	l, err := ParseCCEL(bad)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range l.Events {
		if e.AAEL != nil {
			n++
			if e.AAEL.Operation == "evil-operation" {
				t.Fatalf("AAEL event %d reported from data that does not match its digest: %+v", e.Seq, e.AAEL)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d AAEL events, want the untouched one", n)
	}
}
