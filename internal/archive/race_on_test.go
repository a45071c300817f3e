//go:build race

package archive

// raceEnabled scales the heaviest tests down under the race detector,
// which makes parsing and hashing about ten times slower.
const raceEnabled = true
