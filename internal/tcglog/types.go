package tcglog

import "fmt"

// Event types of the TCG PC Client Platform Firmware Profile (§10.4.1) and
// of UEFI (the EV_EFI_* types).
const (
	EvPrebootCert              = 0x00000000
	EvPostCode                 = 0x00000001
	EvUnused                   = 0x00000002
	EvNoAction                 = 0x00000003
	EvSeparator                = 0x00000004
	EvAction                   = 0x00000005
	EvEventTag                 = 0x00000006
	EvSCRTMContents            = 0x00000007
	EvSCRTMVersion             = 0x00000008
	EvCPUMicrocode             = 0x00000009
	EvPlatformConfigFlags      = 0x0000000A
	EvTableOfDevices           = 0x0000000B
	EvCompactHash              = 0x0000000C
	EvIPL                      = 0x0000000D
	EvIPLPartitionData         = 0x0000000E
	EvNonhostCode              = 0x0000000F
	EvNonhostConfig            = 0x00000010
	EvNonhostInfo              = 0x00000011
	EvOmitBootDeviceEvents     = 0x00000012
	EvEFIVariableDriverConfig  = 0x80000001
	EvEFIVariableBoot          = 0x80000002
	EvEFIBootServicesApp       = 0x80000003
	EvEFIBootServicesDriver    = 0x80000004
	EvEFIRuntimeServicesDriver = 0x80000005
	EvEFIGPTEvent              = 0x80000006
	EvEFIAction                = 0x80000007
	EvEFIPlatformFirmwareBlob  = 0x80000008
	EvEFIHandoffTables         = 0x80000009
	EvEFIPlatformFirmwareBlob2 = 0x8000000A
	EvEFIHandoffTables2        = 0x8000000B
	EvEFIVariableBoot2         = 0x8000000C
	EvEFIGPTEvent2             = 0x8000000D
	EvEFIHCRTMEvent            = 0x80000010
	EvEFIVariableAuthority     = 0x800000E0
	EvEFISPDMFirmwareBlob      = 0x800000E1
	EvEFISPDMFirmwareConfig    = 0x800000E2
	EvEFISPDMDevicePolicy      = 0x800000E3
	EvEFISPDMDeviceAuthority   = 0x800000E4
)

var typeNames = map[uint32]string{
	EvPrebootCert: "EV_PREBOOT_CERT", EvPostCode: "EV_POST_CODE", EvUnused: "EV_UNUSED", EvNoAction: "EV_NO_ACTION",
	EvSeparator: "EV_SEPARATOR", EvAction: "EV_ACTION", EvEventTag: "EV_EVENT_TAG", EvSCRTMContents: "EV_S_CRTM_CONTENTS",
	EvSCRTMVersion: "EV_S_CRTM_VERSION", EvCPUMicrocode: "EV_CPU_MICROCODE", EvPlatformConfigFlags: "EV_PLATFORM_CONFIG_FLAGS",
	EvTableOfDevices: "EV_TABLE_OF_DEVICES", EvCompactHash: "EV_COMPACT_HASH", EvIPL: "EV_IPL",
	EvIPLPartitionData: "EV_IPL_PARTITION_DATA", EvNonhostCode: "EV_NONHOST_CODE", EvNonhostConfig: "EV_NONHOST_CONFIG",
	EvNonhostInfo: "EV_NONHOST_INFO", EvOmitBootDeviceEvents: "EV_OMIT_BOOT_DEVICE_EVENTS",
	EvEFIVariableDriverConfig: "EV_EFI_VARIABLE_DRIVER_CONFIG", EvEFIVariableBoot: "EV_EFI_VARIABLE_BOOT",
	EvEFIBootServicesApp: "EV_EFI_BOOT_SERVICES_APPLICATION", EvEFIBootServicesDriver: "EV_EFI_BOOT_SERVICES_DRIVER",
	EvEFIRuntimeServicesDriver: "EV_EFI_RUNTIME_SERVICES_DRIVER", EvEFIGPTEvent: "EV_EFI_GPT_EVENT", EvEFIAction: "EV_EFI_ACTION",
	EvEFIPlatformFirmwareBlob: "EV_EFI_PLATFORM_FIRMWARE_BLOB", EvEFIHandoffTables: "EV_EFI_HANDOFF_TABLES",
	EvEFIPlatformFirmwareBlob2: "EV_EFI_PLATFORM_FIRMWARE_BLOB2", EvEFIHandoffTables2: "EV_EFI_HANDOFF_TABLES2",
	EvEFIVariableBoot2: "EV_EFI_VARIABLE_BOOT2", EvEFIGPTEvent2: "EV_EFI_GPT_EVENT2", EvEFIHCRTMEvent: "EV_EFI_HCRTM_EVENT",
	EvEFIVariableAuthority: "EV_EFI_VARIABLE_AUTHORITY", EvEFISPDMFirmwareBlob: "EV_EFI_SPDM_FIRMWARE_BLOB",
	EvEFISPDMFirmwareConfig: "EV_EFI_SPDM_FIRMWARE_CONFIG", EvEFISPDMDevicePolicy: "EV_EFI_SPDM_DEVICE_POLICY",
	EvEFISPDMDeviceAuthority: "EV_EFI_SPDM_DEVICE_AUTHORITY",
}

// TypeName returns the name of an event type, e.g. "EV_SEPARATOR", or
// "EV_UNKNOWN_0x…" for a type the profile does not define.
func TypeName(t uint32) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("EV_UNKNOWN_%#x", t)
}
