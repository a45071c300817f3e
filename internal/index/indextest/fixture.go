package indextest

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// SOP classes used by the fixture.
const (
	ctImage = "1.2.840.10008.5.1.4.1.1.2"
	mrImage = "1.2.840.10008.5.1.4.1.1.4"
	srBasic = "1.2.840.10008.5.1.4.1.1.88.11"
	usImage = "1.2.840.10008.5.1.4.1.1.6.1"
	crImage = "1.2.840.10008.5.1.4.1.1.1"
	otImage = "1.2.840.10008.5.1.4.1.1.7"
)

var receivedAt = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

type fixPatient struct {
	id, issuer, name, birth, sex string
}

type fixStudy struct {
	uid, date, time, acc, id, desc, ref string
}

type fixSeries struct {
	uid, modality string
	number        *int
	desc, body    string
}

type fixInstance struct {
	uid, class    string
	number        int
	rows          int
	contentDate   string
	contentTime   string
	acqDateTime   string
	numberOfFrame int
}

func record(p fixPatient, st fixStudy, se fixSeries, in fixInstance) index.InstanceRecord {
	body := []byte("blob of " + in.uid)
	var num *int
	if in.number != 0 {
		num = index.IntPtr(in.number)
	}
	return index.InstanceRecord{
		Patient: index.Patient{
			PatientID:         p.id,
			IssuerOfPatientID: p.issuer,
			PatientName:       index.ParsePersonName(p.name),
			PatientBirthDate:  p.birth,
			PatientSex:        p.sex,
		},
		Study: index.Study{
			StudyInstanceUID:       st.uid,
			StudyDate:              st.date,
			StudyTime:              st.time,
			AccessionNumber:        st.acc,
			StudyID:                st.id,
			StudyDescription:       st.desc,
			ReferringPhysicianName: index.ParsePersonName(st.ref),
		},
		Series: index.Series{
			SeriesInstanceUID: se.uid,
			Modality:          se.modality,
			SeriesNumber:      se.number,
			SeriesDescription: se.desc,
			BodyPartExamined:  se.body,
			InstitutionName:   "Lightbox Hospital",
			StationName:       "STATION1",
			Manufacturer:      "ACME",
		},
		Instance: index.Instance{
			SOPInstanceUID:      in.uid,
			SOPClassUID:         in.class,
			InstanceNumber:      num,
			TransferSyntaxUID:   "1.2.840.10008.1.2.1",
			NumberOfFrames:      in.numberOfFrame,
			Rows:                in.rows,
			Columns:             in.rows,
			ContentDate:         in.contentDate,
			ContentTime:         in.contentTime,
			AcquisitionDateTime: in.acqDateTime,
			BlobKey:             "blob/" + in.uid,
			Size:                int64(len(body)),
			SHA256:              sha256.Sum256(body),
			ReceivedAt:          receivedAt,
			CallingAE:           "MODALITY1",
		},
		Header: []byte(fmt.Sprintf(`{"00080018":{"vr":"UI","Value":[%q]}}`, in.uid)),
	}
}

// Fixture patients. P4 shares P1's Patient ID under another issuer; P5 has
// no Patient ID. P3's values arrive padded, in lower case and in ACR-NEMA
// date/time forms to exercise normalisation.
var (
	p1 = fixPatient{"PID1", "HOSP", "Smith^John", "19700101", "M"}
	p2 = fixPatient{"PID2", "HOSP", "Yamada^Tarou=山田^太郎=やまだ^たろう", "19800202", "F"}
	p3 = fixPatient{"PID3  ", "", "Müller^Jean-Pierre ", "1990.03.03", "m"}
	p4 = fixPatient{"PID1", "OTHER", "Smithers^Anna", "19650505", "F"}
	p5 = fixPatient{"", "", "Anon", "", "O"}
)

// Fixture studies S1..S6.
var (
	s1 = fixStudy{"1.2.826.1.1", "20200115", "101500", "ACC1", "ST1", "CT Chest", "Jones^Bob"}
	s2 = fixStudy{"1.2.826.1.2", "20200301", "230000", "ACC2", "ST2", "MR Brain", "Doe^Jane"}
	s3 = fixStudy{"1.2.826.1.3", "20191231", "080000", "ACC3", "ST3", "ct abdomen", ""}
	s4 = fixStudy{"1.2.826.1.4 ", "2020.01.15", "23:59:59.5", "ACC4", "ST4", "US Neck", "Jones^Alice"}
	s5 = fixStudy{"1.2.826.1.5", "", "", "", "", "CR Hand", ""}
	s6 = fixStudy{"1.2.826.1.6", "20210601", "1200", "", "", "50%_off [test]", ""}
)

// Fixture series SE1..SE8.
var (
	se1 = fixSeries{"1.2.826.2.1", "CT", index.IntPtr(1), "Axial", "CHEST"}
	se2 = fixSeries{"1.2.826.2.2", "MR", index.IntPtr(2), "Scout", "CHEST"}
	se3 = fixSeries{"1.2.826.2.3", "MR", index.IntPtr(1), "T1", "HEAD"}
	se4 = fixSeries{"1.2.826.2.4", "CT", index.IntPtr(1), "Abdomen", "ABDOMEN"}
	se5 = fixSeries{"1.2.826.2.5", "SR", nil, "Report", ""}
	se6 = fixSeries{"1.2.826.2.6", "us ", index.IntPtr(3), "Neck", "NECK"}
	se7 = fixSeries{"1.2.826.2.7", "CR", index.IntPtr(1), "Hand", "HAND"}
	se8 = fixSeries{"1.2.826.2.8", "OT", index.IntPtr(1), "Other", ""}
)

// fixture returns the fixture instances, in insertion order.
func fixture() []index.InstanceRecord {
	return []index.InstanceRecord{
		record(p1, s1, se1, fixInstance{"1.2.826.3.1", ctImage, 1, 512, "20200115", "101600", "20200115101600", 1}),
		record(p1, s1, se1, fixInstance{"1.2.826.3.2", ctImage, 2, 512, "20200115", "101601", "20200115101601.25", 1}),
		record(p1, s1, se1, fixInstance{"1.2.826.3.3", ctImage, 3, 512, "20200115", "101602", "20200115101602", 1}),
		record(p1, s1, se2, fixInstance{"1.2.826.3.4", mrImage, 1, 256, "20200115", "103000", "", 0}),
		record(p1, s2, se3, fixInstance{"1.2.826.3.5", mrImage, 1, 256, "20200301", "230100", "20200301230100+0100", 0}),
		record(p1, s2, se3, fixInstance{"1.2.826.3.6", mrImage, 2, 256, "20200301", "230200", "", 0}),
		record(p2, s3, se4, fixInstance{"1.2.826.3.7", ctImage, 1, 512, "20191231", "080100", "", 1}),
		record(p2, s3, se5, fixInstance{"1.2.826.3.8", srBasic, 0, 0, "20191231", "090000", "", 0}),
		record(p3, s4, se6, fixInstance{"1.2.826.3.9 ", usImage, 1, 480, "2020.01.15", "23:59:59", "", 30}),
		record(p3, s4, se6, fixInstance{"1.2.826.3.10", usImage, 2, 480, "", "", "", 30}),
		record(p4, s5, se7, fixInstance{"1.2.826.3.11", crImage, 1, 2048, "", "", "", 0}),
		record(p5, s6, se8, fixInstance{"1.2.826.3.12", otImage, 1, 64, "20210601", "120000", "", 0}),
	}
}

// Identifiers of the fixture entities after normalisation.
const (
	S1, S2, S3, S4, S5, S6                 = "1.2.826.1.1", "1.2.826.1.2", "1.2.826.1.3", "1.2.826.1.4", "1.2.826.1.5", "1.2.826.1.6"
	SE1, SE2, SE3, SE4, SE5, SE6, SE7, SE8 = "1.2.826.2.1", "1.2.826.2.2", "1.2.826.2.3", "1.2.826.2.4", "1.2.826.2.5", "1.2.826.2.6", "1.2.826.2.7", "1.2.826.2.8"
)

// I returns the SOP Instance UID of fixture instance n (1..12).
func I(n int) string { return fmt.Sprintf("1.2.826.3.%d", n) }
