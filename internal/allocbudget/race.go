//go:build race

package allocbudget

// raceEnabled reports a build with the race detector.
const raceEnabled = true
