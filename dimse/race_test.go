//go:build race

package dimse

// raceEnabled: the race detector slows parsing some twentyfold, so corpus
// tests send a sample instead of every file.
const raceEnabled = true
