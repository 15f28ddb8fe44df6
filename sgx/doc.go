// Package sgx verifies Intel SGX DCAP ECDSA quotes (version 3): the ISV
// enclave report signature by the attestation key, the QE report signature
// by the PCK certificate and its binding to the attestation key, the PCK
// chain to the pinned Intel SGX Root CA, and Intel's collateral (SGX TCB
// info, QE identity, PCK and Root CA CRLs) with TCB levels matched as
// Intel's QVL matches them: the platform level by the PCK certificate's 16
// SGX component SVNs and PCESVN (never the quote's CPUSVN), the QE level by
// its ISVSVN after MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES.
//
// The PCK chain, the collateral and its sources, the CRLs and the TCB
// matching are those of package tdx (shared code, the same Collateral,
// CollateralSource and sources: a tdx.HTTPSource or tdx.FSSource serves SGX
// collateral when asked with CollateralRequest.TEE "sgx").
//
// Claims name the enclave: MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN,
// ATTRIBUTES (with the DEBUG bit as "debug"), CONFIGID, REPORTDATA. The
// verifier refuses nothing a policy should judge: a debug enclave verifies
// and is refused by the default policy (policy/rules_sgx.go), as are an
// unpinned enclave identity and an unaccepted TCB status.
//
// Collateral is that of Intel's PCS API v4: TCB info version 3 and QE
// identity version 2. TCB info version 2 (API v3) is refused as
// ErrCollateral after its signature verifies.
//
// Quote versions 4 and 5 with an SGX body are defined by Intel but no real
// one was found in use and Trustee accepts only version 3: they are refused
// as ErrMalformed and ErrUnsupported, as package tdx refuses versions it
// does not read.
package sgx
