package azure

import (
	"crypto/subtle"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// TDREPORT layout (Intel TDX module ABI, TDREPORT_STRUCT): REPORTMACSTRUCT
// (256 bytes), TEE_TCB_INFO (239 bytes, padded to 256), TDINFO (512 bytes).
const (
	tdReportSize = 1024

	tdrType        = 0x00 // REPORTTYPE.TYPE: 0x81 for TDX
	tdrReportData  = 0x80
	tdrTCBInfo     = 0x100
	tdrTEETCBSVN   = tdrTCBInfo + 8 // after VALID
	tdrMRSEAM      = tdrTEETCBSVN + 16
	tdrMRSignSEAM  = tdrMRSEAM + 48
	tdrSEAMAttr    = tdrMRSignSEAM + 48
	tdrTDInfo      = 0x200
	tdrTDAttr      = tdrTDInfo
	tdrXFAM        = tdrTDInfo + 8
	tdrMRTD        = tdrTDInfo + 16
	tdrMRConfigID  = tdrMRTD + 48
	tdrMROwner     = tdrMRConfigID + 48
	tdrMROwnerConf = tdrMROwner + 48
	tdrRTMR        = tdrMROwnerConf + 48

	tdReportTypeTDX = 0x81
)

// tdReport is the part of an HCL report's hardware report field that the TD
// quote must repeat: the TDREPORT, 1024 bytes, then zero padding to the
// field's 0x4A0 bytes.
type tdReport []byte

// parseTDReport checks the TDREPORT's size, type and padding.
func parseTDReport(field []byte) (tdReport, error) {
	if len(field) < tdReportSize {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: hardware report of %d bytes, expected at least %d (TDREPORT)", len(field), tdReportSize)
	}
	if t := field[tdrType]; t != tdReportTypeTDX {
		return nil, verify.Errorf(verify.ErrMalformed, "TDREPORT: report type %#x, expected %#x (TDX)", t, tdReportTypeTDX)
	}
	if !allZero(field[tdReportSize:]) {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: non-zero bytes after the TDREPORT in the hardware report field")
	}
	return tdReport(field[:tdReportSize]), nil
}

func (r tdReport) reportData() []byte { return r[tdrReportData : tdrReportData+64] }

// matchQuote requires every TD field the TD quote body carries to be the
// TDREPORT's: the quote is the QE's signature over this very report, not
// over another TD's with the same report data. Trustee checks only the
// report data; the rest costs nothing and closes that gap.
func (r tdReport) matchQuote(b *tdx.Body) error {
	for _, f := range []struct {
		name  string
		off   int
		quote []byte
	}{
		{"TEE_TCB_SVN", tdrTEETCBSVN, b.TEETCBSVN[:]},
		{"MRSEAM", tdrMRSEAM, b.MRSEAM[:]},
		{"MRSIGNERSEAM", tdrMRSignSEAM, b.MRSignerSEAM[:]},
		{"SEAM ATTRIBUTES", tdrSEAMAttr, b.SEAMAttributes[:]},
		{"TD ATTRIBUTES", tdrTDAttr, b.TDAttributes[:]},
		{"XFAM", tdrXFAM, b.XFAM[:]},
		{"MRTD", tdrMRTD, b.MRTD[:]},
		{"MRCONFIGID", tdrMRConfigID, b.MRConfigID[:]},
		{"MROWNER", tdrMROwner, b.MROwner[:]},
		{"MROWNERCONFIG", tdrMROwnerConf, b.MROwnerConfig[:]},
		{"RTMR0", tdrRTMR, b.RTMR[0][:]},
		{"RTMR1", tdrRTMR + 48, b.RTMR[1][:]},
		{"RTMR2", tdrRTMR + 96, b.RTMR[2][:]},
		{"RTMR3", tdrRTMR + 144, b.RTMR[3][:]},
		{"REPORTDATA", tdrReportData, b.ReportData[:]},
	} {
		got := r[f.off : f.off+len(f.quote)]
		if subtle.ConstantTimeCompare(got, f.quote) != 1 {
			return verify.Errorf(verify.ErrBinding, "TD quote %s %x is not the HCL report's TDREPORT %s %x", f.name, f.quote, f.name, got)
		}
	}
	return nil
}
