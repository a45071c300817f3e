package indextest

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Synthetic describes a synthetic archive for benchmarks: Instances
// instances, InstancesPerSeries per series, SeriesPerStudy per study and
// StudiesPerPatient per patient (defaults 5, 4 and 2, so 1,000,000
// instances make 50,000 studies of 25,000 patients). Patient names come
// from 100 surnames, so a surname wildcard matches about 1% of patients;
// study dates spread over ten years from 2015.
type Synthetic struct {
	Instances          int
	InstancesPerSeries int
	SeriesPerStudy     int
	StudiesPerPatient  int
	// HeaderBytes is the approximate size of each DICOM JSON header; default 1024.
	HeaderBytes int
}

func (s Synthetic) withDefaults() Synthetic {
	if s.InstancesPerSeries <= 0 {
		s.InstancesPerSeries = 5
	}
	if s.SeriesPerStudy <= 0 {
		s.SeriesPerStudy = 4
	}
	if s.StudiesPerPatient <= 0 {
		s.StudiesPerPatient = 2
	}
	if s.HeaderBytes <= 0 {
		s.HeaderBytes = 1024
	}
	return s
}

// Series returns the number of series.
func (s Synthetic) Series() int {
	s = s.withDefaults()
	return (s.Instances + s.InstancesPerSeries - 1) / s.InstancesPerSeries
}

// Studies returns the number of studies.
func (s Synthetic) Studies() int {
	s = s.withDefaults()
	return (s.Series() + s.SeriesPerStudy - 1) / s.SeriesPerStudy
}

// Patients returns the number of patients.
func (s Synthetic) Patients() int {
	s = s.withDefaults()
	return (s.Studies() + s.StudiesPerPatient - 1) / s.StudiesPerPatient
}

var surnames = strings.Fields(`SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ
LOPEZ GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK
RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS NELSON BAKER HALL
RIVERA CAMPBELL MITCHELL CARTER ROBERTS MULLER SCHMIDT SCHNEIDER FISCHER WEBER MEYER WAGNER BECKER SCHULZ HOFFMANN
DUBOIS DURAND LEROY MOREAU SIMON LAURENT LEFEBVRE MICHEL ROSSI RUSSO FERRARI ESPOSITO BIANCHI ROMANO COLOMBO RICCI
TANAKA SUZUKI TAKAHASHI WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI KATO YOSHIDA KIM PARK CHOI JUNG KANG CHO YOON JANG
LIM HAN OH SEO SHIN KWON`)

var givenNames = strings.Fields(`JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA
RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN ANNA LUCA HANS PIERRE MARIE YUKI HIROSHI MINJUN SEOYEON`)

var modalities = []string{"CT", "MR", "CR", "US", "DX", "PT", "NM", "MG"}

// mix is a cheap deterministic hash for spreading synthetic values.
func mix(i int) uint64 {
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return x
}

// PatientID returns the Patient ID of synthetic patient p.
func (s Synthetic) PatientID(p int) string { return fmt.Sprintf("P%07d", p) }

// StudyUID returns the Study Instance UID of synthetic study st.
func (s Synthetic) StudyUID(st int) string { return fmt.Sprintf("1.2.826.0.1.3680043.10.1.%d", st) }

// SeriesUID returns the Series Instance UID of synthetic series se.
func (s Synthetic) SeriesUID(se int) string { return fmt.Sprintf("1.2.826.0.1.3680043.10.2.%d", se) }

// ProtocolName returns the ProtocolName (0018,1030) of series se, in its
// header only (not a model attribute): one of 2,000 protocols.
func (s Synthetic) ProtocolName(se int) string { return fmt.Sprintf("PROTO-%04d", mix(se)>>8%2000) }

// StudyDate returns the study date of synthetic study st.
func (s Synthetic) StudyDate(st int) time.Time {
	return time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(mix(st)%3650))
}

// Record returns synthetic instance i.
func (s Synthetic) Record(i int) index.InstanceRecord {
	s = s.withDefaults()
	se := i / s.InstancesPerSeries
	st := se / s.SeriesPerStudy
	pa := st / s.StudiesPerPatient
	h := mix(pa)
	name := surnames[h%uint64(len(surnames))] + "^" + givenNames[(h>>16)%uint64(len(givenNames))]
	date := s.StudyDate(st)
	sopUID := fmt.Sprintf("1.2.826.0.1.3680043.10.3.%d", i)
	var sum [32]byte
	binary.BigEndian.PutUint64(sum[:], mix(i))
	header := fmt.Sprintf(`{"00080018":{"vr":"UI","Value":[%q]},"00100010":{"vr":"PN","Value":[{"Alphabetic":%q}]},`+
		`"00100020":{"vr":"LO","Value":[%q]},"00181030":{"vr":"LO","Value":[%q]},"00091010":{"vr":"LO","Value":["`,
		sopUID, name, s.PatientID(pa), s.ProtocolName(se))
	if pad := s.HeaderBytes - len(header) - 6; pad > 0 {
		header += strings.Repeat("x", pad)
	}
	header += `"]}}`
	return index.InstanceRecord{
		Patient: index.Patient{
			PatientID:         s.PatientID(pa),
			IssuerOfPatientID: "SYNTH",
			PatientName:       index.PersonName{Alphabetic: name},
			PatientBirthDate:  time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(h%30000)).Format("20060102"),
			PatientSex:        []string{"M", "F"}[h>>40&1],
		},
		Study: index.Study{
			StudyInstanceUID:       s.StudyUID(st),
			StudyDate:              date.Format("20060102"),
			StudyTime:              fmt.Sprintf("%02d%02d%02d", mix(st)>>20%24, mix(st)>>28%60, mix(st)>>36%60),
			AccessionNumber:        fmt.Sprintf("A%08d", st),
			StudyID:                fmt.Sprint(st % 10000),
			StudyDescription:       "Synthetic study",
			ReferringPhysicianName: index.PersonName{Alphabetic: surnames[mix(st)%uint64(len(surnames))] + "^DR"},
		},
		Series: index.Series{
			SeriesInstanceUID: s.SeriesUID(se),
			Modality:          modalities[mix(se)%uint64(len(modalities))],
			SeriesNumber:      index.IntPtr(se%s.SeriesPerStudy + 1),
			SeriesDescription: "Synthetic series",
			BodyPartExamined:  "CHEST",
			InstitutionName:   "Synthetic Hospital",
			StationName:       "SYN1",
			Manufacturer:      "ACME",
		},
		Instance: index.Instance{
			SOPInstanceUID:    sopUID,
			SOPClassUID:       ctImage,
			InstanceNumber:    index.IntPtr(i%s.InstancesPerSeries + 1),
			TransferSyntaxUID: "1.2.840.10008.1.2.1",
			NumberOfFrames:    1,
			Rows:              512,
			Columns:           512,
			ContentDate:       date.Format("20060102"),
			BlobKey:           fmt.Sprintf("%02x/%s", mix(i)&0xff, sopUID),
			Size:              524288 + int64(mix(i)%4096),
			SHA256:            sum,
			ReceivedAt:        date,
			CallingAE:         "SYNTH",
		},
		Header: []byte(header),
	}
}

// Build inserts the synthetic archive into ix in batches of batch records
// (the bulk path: one transaction per batch). progress, if set, is called
// after each batch with the number of instances inserted so far.
func (s Synthetic) Build(ctx context.Context, ix index.Index, batch int, progress func(done int)) error {
	if batch <= 0 {
		batch = 1000
	}
	recs := make([]index.InstanceRecord, 0, batch)
	for i := 0; i < s.Instances; i++ {
		recs = append(recs, s.Record(i))
		if len(recs) == batch || i == s.Instances-1 {
			if _, err := ix.InsertBatch(ctx, recs); err != nil {
				return fmt.Errorf("synthetic build at %d: %w", i, err)
			}
			recs = recs[:0]
			if progress != nil {
				progress(i + 1)
			}
		}
	}
	return nil
}
