package server

import (
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

func TestQueryAttributes(t *testing.T) {
	for _, tc := range []struct {
		spec            string
		key             index.Key
		tag             uint32
		vr              string
		level           index.Level
		configured      bool
		wantErrContains string
	}{
		{spec: "SERIES:ProtocolName", key: "ProtocolName", tag: 0x00181030, vr: "LO", level: index.SeriesLevel, configured: true},
		{spec: "OperatorsName", key: "OperatorsName", tag: 0x00081070, vr: "PN", level: index.InstanceLevel, configured: true},
		{spec: "study:(0018,0010)", key: "ContrastBolusAgent", tag: 0x00180010, vr: "LO", level: index.StudyLevel, configured: true},
		{spec: "00209241", key: "NominalCardiacTriggerDelayTime", tag: 0x00209241, vr: "FL", wantErrContains: "cannot be matched"},
		{spec: "SERIES:(0019,xx0C)@GEMS_ACQU_01/DS", key: "0019xx0C@GEMS_ACQU_01", tag: 0x0019100C, vr: "DS",
			level: index.SeriesLevel, configured: true},
		{spec: "StationName", key: "StationName", tag: 0x00081010, vr: "SH", level: index.SeriesLevel},
		{spec: "(0019,100C)/LO", wantErrContains: "needs its creator"},
		{spec: "(0019,100C)@GEMS", wantErrContains: "VR unknown"},
		{spec: "NoSuchKeyword", wantErrContains: "unknown keyword"},
		{spec: "PATIENT:EthnicGroup", wantErrContains: "level"},
		{spec: "ReferencedImageSequence", wantErrContains: "SQ cannot be matched"},
		{spec: "(0010,1010", wantErrContains: "malformed tag"},
	} {
		attrs, err := QueryAttributes([]string{tc.spec})
		if tc.wantErrContains != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
				t.Errorf("%q: err = %v, want one containing %q", tc.spec, err, tc.wantErrContains)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		a := attrs[0]
		if a.Key != tc.key || a.Tag != tc.tag || a.VR != tc.vr || a.Level != tc.level || a.Configured != tc.configured {
			t.Errorf("%q = %+v", tc.spec, a)
		}
	}
}
