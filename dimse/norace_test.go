//go:build !race

package dimse

const raceEnabled = false
