package pck

import "encoding/hex"

// PutPlatformClaims adds to m the claims that SGX and TDX quotes share
// about the platform that signed them: the QE's identity ("qe.*", from
// its REPORTBODY fields) and the PCK certificate's extensions and issuing
// CA ("pck.*", "sgx_type").
func PutPlatformClaims(m map[string]any, qeMRSigner []byte, qeISVProdID, qeISVSVN uint16, ext *Extensions, ca string) {
	m["qe.mrsigner"] = hex.EncodeToString(qeMRSigner)
	m["qe.isvprodid"] = int(qeISVProdID)
	m["qe.isvsvn"] = int(qeISVSVN)
	m["pck.fmspc"] = hex.EncodeToString(ext.FMSPC[:])
	m["pck.pce_id"] = hex.EncodeToString(ext.PCEID[:])
	m["pck.pcesvn"] = int(ext.PCESVN)
	m["pck.cpusvn"] = hex.EncodeToString(ext.CPUSVN[:])
	m["pck.ca"] = ca
	m["sgx_type"] = [...]string{"Standard", "Scalable", "Scalable with Integrity"}[min(max(ext.SGXType, 0), 2)]
}
