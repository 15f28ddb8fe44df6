// Package policy appraises verified claims against reference values and turns
// them into an AR4SI trust vector, recording one explained check per rule. Its
// Policy implements verify.Policy; package policy/rego implements the same
// interface with Trustee's Rego policies over the same claims. Most callers
// do not build one by hand: setup.Config.ReferenceValues gives the default
// policy its reference values (LoadReferenceValues reads a document).
//
// # Reference values
//
// A reference-value document, JSON or YAML, lists named values; each entry may
// carry an expiry, after which its values are absent (never compared):
//
//	version: "1"
//	reference_values:
//	  - name: mr_td
//	    value: ["b8b1…", "c0ff…"]
//	    expiration: 2027-06-30T00:00:00Z
//	  - name: tdx_accepted_tcb_status
//	    value: [UpToDate, SWHardeningNeeded]
//
// Names read by the default rules (Trustee's names where Trustee has one):
//
//	TDX   mr_td, rtmr_0..rtmr_3, mr_seam, xfam            pins (hex)
//	      tdx_td_attributes (hex of the 8 TD_ATTRIBUTES bytes)  exact pin that
//	          allows feature bits other than the default expectation
//	      tdx_mr_servicetd (hex)   service TDs (MRSERVICETD) allowed to be bound
//	      tdx_mr_config_id (hex)   the launch configuration (MRCONFIGID)
//	      tdx_accepted_tcb_status, tdx_tolerated_tcb_status  TCB status lists
//	      tdx_min_tcb_date (RFC 3339), tdx_forbidden_advisory_ids,
//	      tdx_min_tee_tcb_svn (hex, compared byte by byte)
//	SGX   sgx_mr_enclave, or sgx_mr_signer with sgx_isv_prod_id   pins (hex;
//	          ISVPRODID decimal); sgx_min_isv_svn (decimal); sgx_misc_select,
//	          sgx_isv_ext_prod_id, sgx_isv_family_id (hex of the raw bytes,
//	          compared only when pinned)
//	      sgx_accepted_tcb_status, sgx_tolerated_tcb_status, sgx_min_tcb_date,
//	      sgx_forbidden_advisory_ids
//	SNP   snp_launch_measurement, snp_host_data, snp_id_key_digest   pins (hex)
//	      snp_min_tcb_bootloader, _tee, _snp, _microcode, _fmc         minimum SVNs
//	          of the reported, launch and committed TCB
//	      snp_accepted_tcb_status, snp_tolerated_tcb_status
//	      snp_allowed_vmpls (0..3; default 0 only)   VMPLs a report may come from
//	      snp_require_author_key (true/false)        the ID block must name an author key
//	      snp_required_mitigations (bit mask, 0x…)   bits both mitigation vectors
//	          of a version 5 report must set
//	      snp_allow_masked_chip_id, snp_allow_migration_agent (true/false)
//	      snp_allow_no_alias_check (true/false)     accept a platform whose
//	          firmware did not complete the BadRAM alias check
//	      snp_required_platform_info, snp_forbidden_platform_info (bit masks,
//	          0x…)   PLATFORM_INFO bits that must be set / clear
//	GPU   allowed_driver_versions, allowed_vbios_versions    pins
//	      gpu_min_driver_version, gpu_min_vbios_version      minimum versions
//	      gpu_require_fwid (default true)
//	NVSwitch  allowed_switch_bios_versions, switch_min_vbios_version, switch_require_fwid
//	TPM   tpm_pcr00..tpm_pcr23 (hex), trusted_aks (AK fingerprints)
//	Azure SEV-SNP VM (az-snp-vtpm): the SNP values for the paravisor's report
//	      and tpm_pcrNN for the guest's boot; both must be pinned to affirm,
//	      and version 1 evidence (SEV-SNP report not bound to the session)
//	      never affirms
//	Azure TDX VM (az-tdx-vtpm): the TDX values (mr_td, rtmr_0..2, …) for
//	      the paravisor's TD quote (Azure's paravisor is an L1 VMM, not a
//	      plain TD: it does not set SEPT_VE_DISABLE, so pin
//	      tdx_td_attributes) and tpm_pcrNN for the guest's boot; as for
//	      az-snp-vtpm, both must be pinned and version 1 never affirms
//	Nitro nitro_pcr0, nitro_pcr1, nitro_pcr2 (hex)   required pins;
//	      nitro_pcr3, nitro_pcr4, nitro_pcr8 (hex)   compared when pinned
//	TDX, TPM, Azure  aael_allowed: "<domain> <operation> <content>" lines; every
//	      Attestation-Agent runtime event (claim aael) must be listed, JSON
//	      contents compared as values (executables 96 otherwise; 33 when
//	      RTMR3 was accepted unlogged, or when no AA event log came with
//	      evidence whose RTMR3 or PCR 16..23 is extended)
//	all   warn_only: names of pinned values whose mismatch only warns
//	      (the claim is lowered to the category's warning value, never affirming)
//
// New checks the reference values before any evidence is appraised, and
// refuses with verify.ErrConfig what the rules could not read as written:
// a name not listed above (a misspelt name would turn its check off), a
// value with blanks around it, a pin that is not hex of its field's length
// (an optional 0x prefix is ignored; tpm_pcrNN takes 20, 32, 48 or 64
// bytes), a floor or mask that is not a decimal or 0x-prefixed hexadecimal
// integer (never octal: "010" is ten), a date that is not RFC 3339, a
// boolean that is not true or false, a warn_only entry that names no
// reference value, a TCB status list that accepts or tolerates Revoked or
// lists a status both ways, a PLATFORM_INFO bit both required and
// forbidden, and more than one distinct value for a name the rules read
// once (the minimums, dates, booleans and masks): two floors merged from
// two documents are a contradiction, not the first one. Expired values are
// checked too. Rego policies (package policy/rego) read any name.
//
// # Claims read
//
// The rules read the flat claim maps of the verifiers (verify.Claims.Map):
//
//	TDX   quote.body.mr_td, quote.body.rtmr_0..3, quote.body.mr_seam, quote.body.tcb_svn,
//	      quote.body.xfam, quote.body.td_attributes, quote.body.mr_servicetd,
//	      td_attributes.debug, tcb_status, tcb_date, advisory_ids,
//	      aael ({"<domain>/<operation>": [content, …]}), rtmr3_unlogged
//	SGX   mr_enclave, mr_signer, isv_prod_id, isv_svn, debug, tcb_status,
//	      tcb_date, advisory_ids
//	SNP   measurement, host_data, id_key_digest, author_key_en, vmpl,
//	      chip_id_masked, policy_debug_allowed, policy_migrate_ma,
//	      {reported,launch,committed,current}_tcb_{bootloader,tee,snp,microcode,fmc},
//	      launch_mit_vector, current_mit_vector, tcb_status (when present),
//	      platform_info, platform_info_reserved, platform_alias_check_complete
//	GPU   measres ("success"), x-nvidia-gpu-driver-version,
//	      x-nvidia-gpu-vbios-version,
//	      x-nvidia-gpu-attestation-report-cert-chain-fwid-match,
//	      x-nvidia-gpu-attestation-report-cert-chain/x-nvidia-cert-ocsp-status,
//	      x-nvidia-gpu-{driver,vbios}-rim-{signature-verified,version-match},
//	      x-nvidia-gpu-{driver,vbios}-rim-cert-chain/x-nvidia-cert-ocsp-status,
//	      x-nvidia-mismatch-opaque-data-records (claims 4.0, when present)
//	      (NVIDIA claims v3/v4; switches use x-nvidia-switch-* and the bios RIM)
//	TPM   pcrNN, ak.trust, ak.fingerprint, secure_boot.enabled, aael
//	Nitro pcr00..pcr15, debug, signer
//	Azure the SNP and TPM keys, ak.trust ("bound"), hcl_report_session_bound,
//	      secure_boot.enabled (from the VM configuration); az-tdx-vtpm the
//	      TDX keys instead of the SNP ones (the TD quote's REPORTDATA is
//	      td_report_data)
//	all   no claim: unsafe switches come typed in verify.PolicyInput.Unsafe
//
// A key with "/" names a field of a nested object.
//
// # Rules and trust claims
//
// Every policy fails closed: a claim the verifier did not prove is absent and
// never satisfies a rule; absent reference values never affirm.
//
//	executables     every boot measurement pinned and matching → 3 (boot) or
//	                2 (with runtime RTMR3 / GPU RIMs); no reference value, or
//	                only some boot measurements pinned → 33 (unrecognized);
//	                mismatch → 96
//	hardware        TCB status accepted → 2, tolerated → 32, other → 96;
//	                claim absent → 97; forbidden advisories pinned but no
//	                readable advisory_ids claim → 97; TCB date or SVN below minimum, forbidden
//	                advisory, revoked certificate, SNP current TCB below
//	                committed, required mitigation missing, GPU opaque-data
//	                record (MIN_SVN floor) not met → 96; GPU OCSP not good,
//	                SNP memory alias check not done, required or forbidden
//	                SNP platform bit → 32; FWID absent while required, masked
//	                SNP CHIP_ID → 97
//	configuration   debug TD / debug-allowed guest policy → 96; reserved or
//	                unexpected TD attributes, XFAM outside its bits, unapproved
//	                service TD, migration agent, VMPL not allowed → 96;
//	                pinned XFAM or versions match → 2, otherwise 3;
//	                any unsafe switch → 32
//	runtime-opaque  encrypted memory → 2; debug → 96 (visible)
//	instance-identity  report data checked by the verifier → 2
//
// Each category takes the least trustworthy value any rule set for it.
//
// # SEV-SNP
//
// A report must come from VMPL 0 unless snp_allowed_vmpls lists its VMPL. The
// snp_min_tcb_* floors apply to REPORTED_TCB, LAUNCH_TCB and COMMITTED_TCB,
// and a CURRENT_TCB below COMMITTED_TCB is refused (hardware 96). Hardware is
// genuine (2) only when every TCB component the report carries has a floor
// (bootloader, tee, snp, microcode, and fmc on Turin); floors for some of
// them only leave hardware at 32. A masked
// (all-zero) CHIP_ID cannot be bound to the VCEK's chip: hardware 97 unless
// snp_allow_masked_chip_id is true (a CHIP_ID that differs from the VCEK's is
// the verifier's ErrBinding). A guest policy allowing a migration agent is
// refused unless snp_allow_migration_agent is true. Without
// snp_required_mitigations the mitigation vectors are recorded, not
// appraised; with it, both vectors must carry its bits, and a report before
// version 5 (no vectors) is refused.
//
// PLATFORM_INFO says how the host platform runs. ALIAS_CHECK_COMPLETE is
// appraised by default: it says the firmware checked at boot that no two
// physical addresses alias one memory location, the mitigation of BadRAM
// (CVE-2024-21944, a host with a modified DIMM reading or replaying guest
// memory); clear, or absent from a version 2 report that cannot state it,
// it is hardware 32 unless snp_allow_no_alias_check is true. The other bits
// depend on what a deployment accepts, so they are appraised only when
// snp_required_platform_info or snp_forbidden_platform_info names them, one
// check per bit (hardware 32 when unmet): forbid SMT_EN (0x1) against
// cross-thread side channels; require ECC_EN (0x4) against bit flips,
// RAPL_DIS (0x8) against power side channels, CIPHERTEXT_HIDING_EN (0x10)
// against the hypervisor reading guest ciphertext. TSME_EN (0x2) is never
// needed (SNP encrypts guest memory with the guest's key either way) and
// TIO_EN (0x80) only says trusted device I/O is on. Bits the ABI reserves
// (bit 6, set by current Turin firmware; bits 8..63) never make a report
// fail to verify; they show in the claim platform_info_reserved, and a mask
// may name them. Without a mask PLATFORM_INFO is recorded in the check
// snp.platform_info. The Azure rules apply all of these to the paravisor's
// report.
//
// # TCB status
//
// A TCB status in the accepted list yields hardware 2, one in the tolerated
// list 32, any other 96. The lists are, per TEE, the *_accepted_tcb_status
// and *_tolerated_tcb_status reference values when given, else those of the
// options WithAcceptedTCBStatus and WithToleratedTCBStatus, else the
// defaults (DefaultAcceptedTCBStatus: UpToDate; DefaultToleratedTCBStatus:
// the *Needed, OutOfDate* and TDRelaunchAdvised* statuses). They are fixed
// when the Policy is built; no package variable changes them.
//
// # Approved boot
//
// A firmware measurement alone does not vouch for the kernel, initrd and
// command line the firmware booted (POL-13), so executables 3 needs every
// register that measures the boot pinned and matching; with fewer pinned it
// is 33, unrecognized, and never affirming:
//
//	TDX   mr_td and rtmr_0 (firmware configuration), rtmr_1 (boot loader,
//	      kernel), rtmr_2 (command line, initrd); rtmr_3 pinned as well
//	      gives 2 (approved runtime)
//	SGX   sgx_mr_enclave (the enclave's code and initial data), or
//	      sgx_mr_signer and sgx_isv_prod_id together with sgx_min_isv_svn
//	      (any enclave that signer ships as that product from that version
//	      on; MRSIGNER alone would approve all its enclaves, and without the
//	      floor its old, vulnerable versions); sgx_min_isv_svn, when given
//	      with sgx_mr_enclave, must also hold. A debug
//	      enclave is refused (configuration 96, runtime-opaque visible memory)
//	TPM   tpm_pcr00 (firmware), tpm_pcr04 (boot manager, boot loader, EFI
//	      images), and the kernel: tpm_pcr08 and tpm_pcr09 (GRUB: commands
//	      and command line, kernel and initrd files) or tpm_pcr11 (a unified
//	      kernel image measured by systemd-stub). Pin a PCR the boot leaves
//	      unextended to its zero value.
//	SNP   snp_launch_measurement: it covers the guest firmware and, with
//	      measured direct boot (the firmware's hashes table), the kernel,
//	      initrd and command line. Pin only measurements of such images: a
//	      firmware that loads an unmeasured kernel from disk is not
//	      distinguishable in the report.
//	Azure the SNP or TDX rule for the paravisor and the TPM rule for the guest
//	Nitro nitro_pcr0 (enclave image file), nitro_pcr1 (kernel and
//	      bootstrap), nitro_pcr2 (application); nitro_pcr3 (parent's IAM
//	      role), nitro_pcr4 (parent instance) and nitro_pcr8 (image signing
//	      certificate) are compared when pinned
//
// The rules do not replay event logs against pinned event lists; pin the
// registers' final values.
//
// # TDX configuration
//
// TD_ATTRIBUTES bits that are reserved (the TUD bits 7:1) or undefined (any
// bit but DEBUG, SEPT_VE_DISABLE, MIGRATABLE, PKS, KL and PERFMON) refuse the
// TD (configuration 96) whatever the reference values say. The defined
// feature bits must be the default expectation, SEPT_VE_DISABLE set and
// MIGRATABLE, PKS, KL, PERFMON clear, unless tdx_td_attributes pins the exact
// attributes; DEBUG is refused either way. Without an xfam pin, XFAM must set
// the bits every TD sets (x87, SSE: 0x3) and no bit outside the ones a TD may
// set (0x6dbe7); with one, it must match. A non-zero MRSERVICETD (TDX 1.5
// quotes) binds a service TD, a migration TD for example, that can reach the
// TD's state: it is refused unless tdx_mr_servicetd lists it.
//
// # Launch configuration (MRCONFIGID, HOST_DATA)
//
// The host fills TDX MRCONFIGID and SEV-SNP HOST_DATA when it launches the
// guest; Confidential Containers puts the init-data digest there (the agent
// policy, which decides for instance whether the host may exec into a
// container). The register is vouched for when tdx_mr_config_id /
// snp_host_data pins it, when the verifier compared it with init data given
// with the evidence (claim init_data_checked), or when it is all zero (the
// host supplied nothing). A non-zero register nobody compared leaves
// configuration at 36: leaving the init data out of a request does not make
// a permissive agent policy pass.
//
// # Nitro configuration
//
// An AWS Nitro Enclaves attestation document states no configuration of its
// own: the enclave's boot configuration (kernel command line, init, the
// application's environment) is part of the image that PCR0–2 measure, and
// only a production-mode enclave has non-zero PCRs. A debug-mode enclave
// (PCR0–3 all zero) is refused (configuration 96). Otherwise configuration
// is 3 (no known vulnerabilities) only when nitro_pcr0..2 are pinned and
// match — the reference values that vouch for the image vouch for the
// configuration inside it; without them no configuration claim is made.
// The vCPUs and memory the parent gave the enclave are not attested.
package policy
