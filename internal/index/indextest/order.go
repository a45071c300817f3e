package indextest

import (
	"context"
	"slices"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// testOrder checks the default order of each level and Query.OrderBy.
func testOrder(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	for _, tc := range []struct {
		name  string
		q     index.Query
		want  []string
		limit bool
	}{
		{"patients default", index.Query{Level: index.PatientLevel},
			// ANON, MÜLLER, SMITHERS, SMITH^JOHN ("E" < "^"), YAMADA: bytewise, upper-cased.
			[]string{"|", "PID3|", "PID1|OTHER", "PID1|HOSP", "PID2|HOSP"}, true},
		{"studies default: newest first, undated last", index.Query{Level: index.StudyLevel},
			[]string{S6, S2, S4, S1, S3, S5}, true},
		{"series default: study, number (absent last)", index.Query{Level: index.SeriesLevel},
			[]string{SE1, SE2, SE3, SE4, SE5, SE6, SE7, SE8}, true},
		{"instances of a series default", index.Query{Level: index.InstanceLevel, Matches: m("SeriesInstanceUID", SE1)},
			[]string{I(1), I(2), I(3)}, false},
		{"studies by patient name", index.Query{Level: index.StudyLevel, OrderBy: []index.Order{{Key: index.PatientName}}},
			[]string{S6, S4, S5, S2, S1, S3}, true},
		{"series by number descending", index.Query{Level: index.SeriesLevel,
			OrderBy: []index.Order{{Key: index.SeriesNumber, Desc: true}}},
			[]string{SE6, SE2, SE1, SE3, SE4, SE7, SE8, SE5}, true},
		{"studies by date ascending", index.Query{Level: index.StudyLevel,
			OrderBy: []index.Order{{Key: index.StudyDate}, {Key: index.StudyTime}}},
			[]string{S5, S3, S1, S4, S2, S6}, true},
		{"series by modality then study date", index.Query{Level: index.SeriesLevel,
			OrderBy: []index.Order{{Key: index.Modality}, {Key: index.StudyDate, Desc: true}}},
			[]string{SE7, SE1, SE4, SE3, SE2, SE8, SE5, SE6}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ix.Find(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(tc.q.Level, rs); !slices.Equal(got, tc.want) {
				t.Errorf("order = %v\n want  %v", got, tc.want)
			}
			if !tc.limit {
				return
			}
			// Pages of two concatenate to the same order.
			var pages []string
			for off := 0; off < len(tc.want)+2; off += 2 {
				q := tc.q
				q.Limit, q.Offset = 2, off
				page, err := ix.Find(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, ids(tc.q.Level, page)...)
			}
			if !slices.Equal(pages, tc.want) {
				t.Errorf("paged order = %v\n want        %v", pages, tc.want)
			}
		})
	}
}
