// Package archtest holds no code: its test checks that imports between
// Lightbox's packages flow the one way ../shared/ARCHITECTURE.md describes
// (wire format → archive → services → servers → cmd).
package archtest
