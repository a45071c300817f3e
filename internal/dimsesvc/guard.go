package dimsesvc

import (
	"encoding/binary"
	"io"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// This file checks, while a C-STORE data set streams into the archive,
// that its SOP Class and SOP Instance UIDs are the command's. They sit at
// the start of the data set, so a mismatch stops the ingest before
// anything is stored.

// guardPrefix is how much of the data set the guard looks at.
const guardPrefix = 16 << 10

// guard reads the data set, checking its first elements.
type guard struct {
	r   io.Reader
	req *dimse.StoreRequest
	buf []byte
	// done is set once the guard has decided (or given up).
	done bool
	// classMissing: the data set has no SOP Class UID.
	classMissing bool
	err          error
}

func newGuard(r io.Reader, req *dimse.StoreRequest) *guard {
	g := &guard{r: r, req: req}
	if req.TransferSyntax == dicom.DeflatedExplicitVRLittleEndian {
		g.done = true // the UIDs are checked after the ingest
	}
	return g
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if !g.done {
		g.buf = append(g.buf, p[:n]...)
		g.inspect(err != nil)
		if g.err != nil {
			return 0, g.err
		}
	}
	return n, err
}

// inspect scans what has arrived; final means nothing more will.
func (g *guard) inspect(final bool) {
	u, ok := scanUIDs(g.buf, g.req.TransferSyntax, final)
	if !ok {
		if final || len(g.buf) >= guardPrefix {
			g.done, g.buf = true, nil
		}
		return
	}
	g.done, g.buf = true, nil
	switch {
	case u.instance != "" && u.instance != g.req.SOPInstanceUID:
		g.err = mismatch("SOP Instance UID", u.instance, g.req.SOPInstanceUID)
	case u.class != "" && u.class != g.req.SOPClassUID:
		g.err = mismatch("SOP Class UID", u.class, g.req.SOPClassUID)
	case u.class == "":
		g.classMissing = true
	}
}

// uids are the identifying UIDs found at the start of a data set.
type uids struct {
	class, instance string
}

// scanUIDs walks the top-level elements of a bare data set prefix up to
// (0008,0018). ok is false when the prefix does not reach past it yet (or
// an element of undefined length comes first); final says the prefix is
// the whole data set.
func scanUIDs(b []byte, ts string, final bool) (u uids, ok bool) {
	implicit := ts == dicom.ImplicitVRLittleEndian
	var order binary.ByteOrder = binary.LittleEndian
	if ts == dicom.ExplicitVRBigEndian {
		order = binary.BigEndian
	}
	for i := 0; ; {
		if len(b)-i < 8 {
			return u, final && len(b) == i
		}
		tag := dicom.Tag(uint32(order.Uint16(b[i:]))<<16 | uint32(order.Uint16(b[i+2:])))
		if tag > dicom.TagSOPInstanceUID {
			return u, true
		}
		var length uint32
		hdr := 8
		if implicit {
			length = binary.LittleEndian.Uint32(b[i+4:])
		} else {
			vr := string(b[i+4 : i+6])
			switch vr {
			case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV":
				if len(b)-i < 12 {
					return u, false
				}
				length, hdr = order.Uint32(b[i+8:]), 12
			default:
				length = uint32(order.Uint16(b[i+6:]))
			}
		}
		if length == dicom.UndefinedLength {
			return u, false
		}
		end := i + hdr + int(length)
		if end > len(b) || end < i {
			return u, false
		}
		switch tag {
		case dicom.TagSOPClassUID:
			u.class = trimUID(b[i+hdr : end])
		case dicom.TagSOPInstanceUID:
			u.instance = trimUID(b[i+hdr : end])
			return u, true
		}
		i = end
	}
}

func trimUID(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }
