package verify

import "slices"

// UnsafeSwitch names one dangerous switch that was in effect when evidence
// was verified: the qualified name of the option or expectation that set
// it, such as "tdx.WithoutCollateralUnsafe". Each package declares its
// switches as constants next to the options.
//
// Every such option is named With<Thing>Unsafe (it accepts Thing, which is
// refused by default) or Without<Check>Unsafe (it skips Check); its switch
// is "<package>.<option name>". A policy must not affirm a component
// verified with any switch in effect, and the appraiser records them in the
// result's attest_unsafe extension.
type UnsafeSwitch string

// UnsafeMissingReportData is in effect when evidence was accepted without
// checking its report data (Expectations.AllowMissingReportDataUnsafe).
const UnsafeMissingReportData UnsafeSwitch = "verify.AllowMissingReportDataUnsafe"

// ClaimUnsafe is the claim key under which every verifier's Claims.Map
// lists the names of its unsafe switches (a []string), when there are any.
// It is informational: policies read PolicyInput.Unsafe, which the
// appraiser fills from UnsafeReporter.
const ClaimUnsafe = "unsafe"

// UnsafeReporter is implemented by Claims that can have been established
// with unsafe switches in effect. UnsafeSwitches lists them (nil when none),
// each once.
type UnsafeReporter interface {
	UnsafeSwitches() []UnsafeSwitch
}

// UnsafeSwitchesOf returns the unsafe switches c reports (nil when c is not
// an UnsafeReporter), without duplicates and in the order reported.
func UnsafeSwitchesOf(c Claims) []UnsafeSwitch {
	r, ok := c.(UnsafeReporter)
	if !ok {
		return nil
	}
	return AddUnsafe(nil, r.UnsafeSwitches()...)
}

// AddUnsafe appends the switches of add to list that it does not hold yet.
func AddUnsafe(list []UnsafeSwitch, add ...UnsafeSwitch) []UnsafeSwitch {
	for _, s := range add {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// UnsafeNames returns the switch names as strings, the form claims and
// tokens carry (nil when list is empty).
func UnsafeNames(list []UnsafeSwitch) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return out
}

// PutUnsafeClaim writes list under ClaimUnsafe in m when it is not empty:
// the one place and shape every verifier reports its switches in.
func PutUnsafeClaim(m map[string]any, list []UnsafeSwitch) {
	if len(list) > 0 {
		m[ClaimUnsafe] = UnsafeNames(list)
	}
}
