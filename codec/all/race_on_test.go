//go:build race

package all

// raceEnabled: the race detector slows decoding about tenfold, so the
// corpus-wide tests visit a sample under it; scripts/test.sh runs them again
// in full without the detector.
const raceEnabled = true
