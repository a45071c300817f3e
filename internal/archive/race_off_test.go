//go:build !race

package archive

// raceEnabled scales the heaviest tests down under the race detector.
const raceEnabled = false
