package tcglog

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

const (
	algSHA256 = 0x000b
	algSHA384 = 0x000c
)

// tpmFormat and ccelFormat are the formats the tpm and tdx packages use.
func tpmFormat() Format {
	return Format{Name: "event log", MaxSize: 1 << 20, MaxEvents: 8192, NotAgile: verify.ErrUnsupported, SpecIDOnIndexZero: true, AllDigests: true}
}

func ccelFormat() Format {
	return Format{Name: "CCEL", MaxSize: 8 << 20, MaxEvents: 16384, MaxEventData: 1 << 20, NotAgile: verify.ErrMalformed, Padded: true}
}

// decodeAll decodes every event of b.
func decodeAll(b []byte, f Format) ([]Alg, []Event, error) {
	d, err := NewDecoder(b, f)
	if err != nil {
		return nil, nil, err
	}
	var out []Event
	for {
		var ev Event
		more, err := d.Next(&ev)
		if err != nil {
			return nil, nil, err
		}
		if !more {
			return d.Algs(), out, nil
		}
		out = append(out, ev)
	}
}

// specID returns a first event declaring algs (ID, size pairs).
func specID(index uint32, algs ...[2]uint16) []byte {
	spec := append([]byte("Spec ID Event03\x00"), 0, 0, 0, 0, 0, 2, 0, 2)
	spec = binary.LittleEndian.AppendUint32(spec, uint32(len(algs)))
	for _, a := range algs {
		spec = binary.LittleEndian.AppendUint16(spec, a[0])
		spec = binary.LittleEndian.AppendUint16(spec, a[1])
	}
	spec = append(spec, 0) // vendorInfoSize
	b := binary.LittleEndian.AppendUint32(nil, index)
	b = binary.LittleEndian.AppendUint32(b, EvNoAction)
	b = append(b, make([]byte, 20)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(spec)))
	return append(b, spec...)
}

type digest struct {
	alg uint16
	d   []byte
}

func event(index, typ uint32, data []byte, digests ...digest) []byte {
	b := binary.LittleEndian.AppendUint32(nil, index)
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(digests)))
	for _, d := range digests {
		b = binary.LittleEndian.AppendUint16(b, d.alg)
		b = append(b, d.d...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func sha256Of(b []byte) digest { s := sha256.Sum256(b); return digest{algSHA256, s[:]} }
func sha384Of(b []byte) digest { s := sha512.Sum384(b); return digest{algSHA384, s[:]} }

func readLog(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// Every real TPM log and CCEL of testdata decodes in its format, with a
// digest in every bank for every TPM event and a SHA-384 one for every CCEL
// event.
func TestRealLogs(t *testing.T) {
	tpmLogs, err := filepath.Glob("../../testdata/tpm/eventlog-*.bin")
	require.NoError(t, err)
	require.Len(t, tpmLogs, 10)
	for _, p := range tpmLogs {
		algs, events, err := decodeAll(readLog(t, p), tpmFormat())
		require.NoError(t, err, p)
		require.NotEmpty(t, events, p)
		for _, ev := range events {
			for i := range algs {
				require.Len(t, ev.Digests[i], algs[i].Size, "%s event %d", p, ev.Seq)
			}
		}
	}
	for _, name := range []string{"CCEL_data", "CCEL_data_ovmf", "ccel_data.dat", "CCEL_AAEL_alibabacloud", "cos-113-intel-tdx-dupe-separator.bin"} {
		algs, events, err := decodeAll(readLog(t, "../../testdata/tdx/"+name), ccelFormat())
		require.NoError(t, err, name)
		require.Equal(t, []Alg{{algSHA384, 48}}, algs, name)
		require.NotEmpty(t, events, name)
		for _, ev := range events {
			require.Len(t, ev.Digests[0], 48)
		}
	}
	// A CCEL is no TPM log: its padding is not an event.
	_, _, err = decodeAll(readLog(t, "../../testdata/tdx/ccel_data.dat"), tpmFormat())
	require.Error(t, err)
}

func TestFraming(t *testing.T) {
	d1 := sha256Of([]byte("a"))
	two := specID(0, [2]uint16{algSHA256, 32}, [2]uint16{algSHA384, 48})
	good := append(bytes.Clone(two), event(0, EvSeparator, []byte{0, 0, 0, 0}, d1, sha384Of([]byte("a")))...)
	_, events, err := decodeAll(good, tpmFormat())
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, 1, events[0].Seq)

	for _, tc := range []struct {
		name string
		log  []byte
		f    Format
		kind error
	}{
		{"too big", good, Format{Name: "log", MaxSize: len(good) - 1, MaxEvents: 1}, verify.ErrLimit},
		{"too many events", append(bytes.Clone(good), good[len(two):]...), Format{Name: "log", MaxSize: 1 << 20, MaxEvents: 1, AllDigests: true}, verify.ErrLimit},
		{"short header", good[:31], tpmFormat(), verify.ErrMalformed},
		{"SHA-1 log (TPM)", func() []byte { b := bytes.Clone(good); b[4] = 8; return b }(), tpmFormat(), verify.ErrUnsupported},
		{"SHA-1 log (CCEL)", func() []byte { b := bytes.Clone(good); b[4] = 8; return b }(), ccelFormat(), verify.ErrMalformed},
		{"Spec ID on PCR 1 (TPM)", append(specID(1, [2]uint16{algSHA256, 32}), event(0, EvAction, nil, d1)...), tpmFormat(), verify.ErrUnsupported},
		{"bad signature", func() []byte { b := bytes.Clone(good); b[32] = 'X'; return b }(), tpmFormat(), verify.ErrUnsupported},
		{"Spec ID size beyond the log", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[28:], 0xffffffff); return b }(), tpmFormat(), verify.ErrMalformed},
		{"no algorithms", specID(0), tpmFormat(), verify.ErrMalformed},
		{"digest size 0", specID(0, [2]uint16{algSHA256, 0}), tpmFormat(), verify.ErrMalformed},
		{"digest size 65", specID(0, [2]uint16{0x99, 65}), ccelFormat(), verify.ErrMalformed},
		{"algorithm declared twice", specID(0, [2]uint16{algSHA256, 32}, [2]uint16{algSHA256, 32}), tpmFormat(), verify.ErrMalformed},
		{"vendorInfoSize", func() []byte { b := bytes.Clone(two); b[len(b)-1] = 1; return b }(), tpmFormat(), verify.ErrMalformed},
		{"one digest of two (TPM)", append(bytes.Clone(two), event(0, EvAction, nil, d1)...), tpmFormat(), verify.ErrMalformed},
		{"digests out of order (TPM)", append(bytes.Clone(two), event(0, EvAction, nil, sha384Of(nil), d1)...), tpmFormat(), verify.ErrMalformed},
		{"no digest", append(bytes.Clone(two), event(1, EvAction, nil)...), ccelFormat(), verify.ErrMalformed},
		{"two digests of one algorithm", append(bytes.Clone(two), event(1, EvAction, nil, d1, d1)...), ccelFormat(), verify.ErrMalformed},
		{"undeclared algorithm", append(bytes.Clone(two), event(1, EvAction, nil, digest{0x0004, make([]byte, 20)})...), ccelFormat(), verify.ErrMalformed},
		{"digest count huge", func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b[len(two)+8:], 0xffffffff)
			return b
		}(), ccelFormat(), verify.ErrMalformed},
		{"truncated digest", good[:len(two)+12+2+10], tpmFormat(), verify.ErrMalformed},
		{"truncated event size", good[:len(good)-6], tpmFormat(), verify.ErrMalformed},
		{"data beyond the log", good[:len(good)-1], tpmFormat(), verify.ErrMalformed},
		{"data beyond the cap", append(bytes.Clone(two), event(1, EvAction, make([]byte, 17), d1)...), Format{Name: "log", MaxSize: 1 << 20, MaxEvents: 8, MaxEventData: 16}, verify.ErrLimit},
		{"trailing bytes (unpadded)", append(bytes.Clone(good), 0xff), tpmFormat(), verify.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeAll(tc.log, tc.f)
			require.ErrorIs(t, err, tc.kind)
		})
	}
}

// A padded log ends at 8 bytes of 0xFF or 0x00, or fewer than 8 bytes;
// events carry a subset of the declared algorithms.
func TestPadding(t *testing.T) {
	ev := event(4, EvEventTag, []byte("x"), sha384Of([]byte("x")))
	log := append(specID(1, [2]uint16{algSHA384, 48}, [2]uint16{0x0012, 32}), ev...)
	for _, tail := range [][]byte{nil, bytes.Repeat([]byte{0xff}, 8), make([]byte, 64), {1, 2, 3, 4, 5, 6, 7}, append(bytes.Repeat([]byte{0xff}, 8), ev...)} {
		_, events, err := decodeAll(append(bytes.Clone(log), tail...), ccelFormat())
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Nil(t, events[0].Digests[1], "no SM3 digest")
	}
	_, _, err := decodeAll(append(bytes.Clone(log), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), ccelFormat())
	require.ErrorIs(t, err, verify.ErrMalformed, "not padding: an event header")
}

// After an error or at the end, Next reports no more events.
func TestNextAfterEnd(t *testing.T) {
	d, err := NewDecoder(append(specID(0, [2]uint16{algSHA256, 32}), 1, 2, 3), tpmFormat())
	require.NoError(t, err)
	var ev Event
	more, err := d.Next(&ev)
	require.Error(t, err)
	assert.False(t, more)
	more, err = d.Next(&ev)
	require.NoError(t, err)
	assert.False(t, more)
}

func TestExtend(t *testing.T) {
	mr := make([]byte, 32)
	d := sha256.Sum256([]byte("event"))
	want := sha256.Sum256(append(make([]byte, 32), d[:]...))
	assert.Equal(t, want[:], Extend(sha256.New(), mr, d[:]))
	assert.Equal(t, want[:], mr, "extended in place")
}

func TestTypeName(t *testing.T) {
	assert.Equal(t, "EV_SEPARATOR", TypeName(EvSeparator))
	assert.Equal(t, "EV_EFI_BOOT_SERVICES_APPLICATION", TypeName(EvEFIBootServicesApp))
	assert.Equal(t, "EV_UNKNOWN_0x1234", TypeName(0x1234))
}

// A Spec ID event with an all-zero signature (Trustee's agent writes one
// before its runtime events when there is no firmware log) is accepted only
// where the format allows it.
func TestZeroSpecIDSignature(t *testing.T) {
	log := specID(0, [2]uint16{0x000c, 48}, [2]uint16{0x0012, 32})
	copy(log[32:48], make([]byte, 16))
	require.Len(t, log, 69)
	log = append(log, event(4, EvEventTag, []byte("x"), digest{0x000c, make([]byte, 48)})...)
	f := Format{Name: "test", MaxSize: 1 << 10, MaxEvents: 4, Padded: true}
	_, err := NewDecoder(log, f)
	require.ErrorIs(t, err, verify.ErrMalformed)
	f.ZeroSpecIDSignature = true
	algs, evs, err := decodeAll(log, f)
	require.NoError(t, err)
	require.Equal(t, []Alg{{0x000c, 48}, {0x0012, 32}}, algs)
	require.Len(t, evs, 1)
}
