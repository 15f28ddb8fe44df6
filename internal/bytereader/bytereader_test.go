package bytereader

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

func TestReadsInBothOrders(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	le, be := New(b, LittleEndian, "s"), New(b, BigEndian, "s")
	assert.Equal(t, uint8(1), le.U8("a"))
	assert.Equal(t, uint16(0x0302), le.U16("b"))
	assert.Equal(t, uint32(0x07060504), le.U32("c"))
	assert.Equal(t, uint64(0x0f0e0d0c0b0a0908), le.U64("d"))
	assert.Equal(t, uint8(1), be.U8("a"))
	assert.Equal(t, uint16(0x0203), be.U16("b"))
	assert.Equal(t, uint32(0x04050607), be.U32("c"))
	assert.Equal(t, uint64(0x08090a0b0c0d0e0f), be.U64("d"))
	require.NoError(t, le.Done())
	require.NoError(t, be.Done())
}

func TestFirstFailureSticks(t *testing.T) {
	r := New([]byte{1, 2, 3}, LittleEndian, "header")
	assert.Equal(t, uint16(0x0201), r.U16("a"))
	assert.Zero(t, r.U32("b")) // 1 byte left
	require.ErrorIs(t, r.Err(), verify.ErrMalformed)
	assert.Contains(t, r.Err().Error(), "header at offset 2: field b needs 4 bytes, 1 left")
	assert.Nil(t, r.Take(1, "c"), "reads after a failure return nothing")
	assert.Zero(t, r.U8("d"))
	r.Fail(verify.ErrLimit, "later")
	require.NotErrorIs(t, r.Err(), verify.ErrLimit, "the first failure is kept")
	assert.Equal(t, 2, r.Offset())
}

func TestBounds(t *testing.T) {
	r := New(make([]byte, 8), BigEndian, "s")
	assert.Nil(t, r.Take(-1, "negative"))
	require.ErrorIs(t, r.Err(), verify.ErrMalformed)

	r = New(make([]byte, 8), BigEndian, "s")
	out := r.Take(2, "a")
	assert.Equal(t, 2, cap(out), "capacity capped")
	r.Truncate(9, "too long")
	require.ErrorIs(t, r.Err(), verify.ErrMalformed)

	r = New(make([]byte, 8), BigEndian, "s")
	r.Truncate(3, "rest")
	assert.Equal(t, 3, r.Left())
	assert.Nil(t, r.Take(4, "beyond the truncation"))
	require.ErrorIs(t, r.Err(), verify.ErrMalformed)

	r = New(make([]byte, 3), BigEndian, "s")
	r.U16("a")
	require.ErrorIs(t, r.Done(), verify.ErrMalformed, "trailing byte")
	r.Fail(verify.ErrLimit, "x")
	require.NotErrorIs(t, r.Err(), verify.ErrLimit)
}

func TestLimitKind(t *testing.T) {
	r := New(nil, LittleEndian, "s")
	r.Fail(verify.ErrLimit, "size %d", 9)
	require.ErrorIs(t, r.Err(), verify.ErrLimit)
	assert.Contains(t, r.Err().Error(), "s at offset 0: size 9")
}
