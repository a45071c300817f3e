//go:build race

package imaging

// raceEnabled: the race detector slows decoding and parsing about tenfold,
// so corpus-wide tests visit a sample under it; scripts/test.sh runs them
// again in full without the detector.
const raceEnabled = true
