package ear

// trustRank orders the tiers by the trust they convey: affirming conveys the
// most, then none (no assertion), warning, and contraindicated the least. The
// numeric tier code points order none before affirming, which is right for
// deriving a status from claims but not for comparing two statuses' trust.
func (s Status) trustRank() int {
	switch s {
	case StatusAffirming:
		return 3
	case StatusNone:
		return 2
	case StatusWarning:
		return 1
	}
	return 0 // contraindicated and anything unknown
}

// LeastTrusted returns whichever of a and b conveys less trust; none conveys
// less than affirming and more than warning.
func LeastTrusted(a, b Status) Status {
	if b.trustRank() < a.trustRank() {
		return b
	}
	return a
}

// NoMoreTrustedThan reports whether s conveys no more trust than bound, the
// rule the draft sets for an appraisal status against its worst trust claim
// and for the overall status against the worst submod.
func (s Status) NoMoreTrustedThan(bound Status) bool {
	return s.trustRank() <= bound.trustRank()
}
