package cli

// This file holds `lightbox find` (like DCMTK's findscu) and what the
// query/retrieve commands share: -k query keys, the information model
// flags and the building of identifiers.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/charset"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/ul"
)

func init() {
	register("find", Command{Summary: "query a DICOM peer with C-FIND (like findscu)", Run: runFind})
}

const (
	tagQueryRetrieveLevel = dicom.Tag(0x00080052)
	tagRetrieveAETitle    = dicom.Tag(0x00080054)
)

// keyList collects repeated -k options.
type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, " ") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

// qrFlags are the options the query/retrieve commands share.
type qrFlags struct {
	keys                 keyList
	patient, study, psOn bool
	level                string
	charset              string
	relational           bool
}

func (q *qrFlags) register(fs *flag.FlagSet, defaultLevel string) {
	fs.Var(&q.keys, "k", "query key `Tag[=Value]` (keyword, gggg,eeee or (gggg,eeee)); repeatable")
	fs.BoolVar(&q.patient, "P", false, "use the Patient Root information model")
	fs.BoolVar(&q.study, "S", false, "use the Study Root information model (default)")
	fs.BoolVar(&q.psOn, "O", false, "use the Patient/Study Only information model (retired)")
	fs.StringVar(&q.level, "level", defaultLevel, "query/retrieve level: PATIENT, STUDY, SERIES or IMAGE")
	fs.StringVar(&q.charset, "charset", "", "Specific Character Set of the query (default: ISO_IR 192 when a value is not ASCII)")
	fs.BoolVar(&q.relational, "relational", false, "ask for relational queries/retrieval (extended negotiation)")
}

// model returns the SOP class of the chosen information model for a
// service (dimse.ServiceFind, ServiceMove, ServiceGet).
func (q *qrFlags) model(svc dimse.Service) (string, error) {
	n := 0
	for _, b := range []bool{q.patient, q.study, q.psOn} {
		if b {
			n++
		}
	}
	if n > 1 {
		return "", errors.New("-P, -S and -O exclude each other")
	}
	var classes [3]string
	switch svc {
	case dimse.ServiceFind:
		classes = [3]string{dimse.PatientRootFind, dimse.StudyRootFind, dimse.PatientStudyOnlyFind}
	case dimse.ServiceMove:
		classes = [3]string{dimse.PatientRootMove, dimse.StudyRootMove, dimse.PatientStudyOnlyMove}
	default:
		classes = [3]string{dimse.PatientRootGet, dimse.StudyRootGet, dimse.PatientStudyOnlyGet}
	}
	switch {
	case q.patient:
		return classes[0], nil
	case q.psOn:
		return classes[2], nil
	}
	return classes[1], nil
}

// extendedNegotiation returns the items to propose for the model.
// request returns the information model and the identifier of a C-FIND,
// C-MOVE or C-GET built from the flags.
func (q *qrFlags) request(svc dimse.Service) (string, *dicom.Dataset, error) {
	model, err := q.model(svc)
	if err != nil {
		return "", nil, err
	}
	ident, err := q.identifier()
	return model, ident, err
}

func (q *qrFlags) extendedNegotiation(model string) []ul.ExtendedNegotiation {
	if !q.relational {
		return nil
	}
	return []ul.ExtendedNegotiation{{SOPClassUID: model, Info: []byte{1}}}
}

// queryKey is one parsed -k option.
type queryKey struct {
	tag   dicom.Tag
	vr    dicom.VR
	value string
}

// parseKey reads "Keyword[=Value]", "gggg,eeee[=Value]" or
// "(gggg,eeee)[=Value]".
func parseKey(s string) (queryKey, error) {
	name, value, _ := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	var k queryKey
	tag, err := dicom.ParseTag(name)
	if err != nil {
		return k, fmt.Errorf("-k %q: %q is neither a keyword nor a tag", s, name)
	}
	k.tag = tag
	k.vr = dicom.UN
	if en, ok := dict.Lookup(uint32(k.tag)); ok {
		if vr := dicom.VRFromName(dict.FirstVR(en.VR)); vr != dicom.VRNone {
			k.vr = vr
		}
	}
	k.value = value
	return k, nil
}

// identifier builds the identifier of the -k keys at the level, adding
// the Specific Character Set its values need.
func (q *qrFlags) identifier() (*dicom.Dataset, error) {
	ds := dicom.NewDataset()
	level := strings.ToUpper(strings.TrimSpace(q.level))
	terms := q.charset
	var keys []queryKey
	for _, s := range q.keys {
		k, err := parseKey(s)
		if err != nil {
			return nil, err
		}
		switch k.tag {
		case tagQueryRetrieveLevel:
			if k.value != "" {
				level = strings.ToUpper(k.value)
			}
			continue
		case dicom.TagSpecificCharacterSet:
			terms = k.value
			continue
		}
		if terms == "" && !isASCII(k.value) {
			terms = "ISO_IR 192"
		}
		keys = append(keys, k)
	}
	switch level {
	case "PATIENT", "STUDY", "SERIES", "IMAGE":
	default:
		return nil, fmt.Errorf("level %q is not PATIENT, STUDY, SERIES or IMAGE", level)
	}
	ds.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, level))
	cs := charset.Default
	if terms != "" {
		list := strings.Split(terms, `\`)
		var err error
		if cs, err = charset.Parse(list); err != nil {
			return nil, fmt.Errorf("--charset %q: %w", terms, err)
		}
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, list...))
	}
	for _, k := range keys {
		e, err := keyElement(k, cs)
		if err != nil {
			return nil, err
		}
		ds.Set(e)
	}
	return ds, nil
}

// keyElement encodes one key's value for its VR.
func keyElement(k queryKey, cs *charset.Set) (*dicom.Element, error) {
	e := &dicom.Element{Tag: k.tag, VR: k.vr}
	switch {
	case k.vr == dicom.SQ:
		e.Items = []*dicom.Dataset{}
		if k.value != "" {
			return nil, fmt.Errorf("-k %s: sequence keys take no value", k.tag)
		}
	case k.value == "":
	case k.vr == dicom.US || k.vr == dicom.SS || k.vr == dicom.UL || k.vr == dicom.SL:
		for _, p := range strings.Split(k.value, `\`) {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("-k %s=%s: not a number", k.tag, k.value)
			}
			if k.vr == dicom.US || k.vr == dicom.SS {
				e.Value = binary.LittleEndian.AppendUint16(e.Value, uint16(n))
			} else {
				e.Value = binary.LittleEndian.AppendUint32(e.Value, uint32(n))
			}
		}
	case k.vr.UsesCharset():
		kind, _ := charset.KindForVR(k.vr.String())
		b, err := cs.Encode(k.value, kind)
		if err != nil {
			return nil, fmt.Errorf("-k %s=%s: %w", k.tag, k.value, err)
		}
		if len(b)%2 == 1 {
			b = append(b, ' ')
		}
		e.Value = b
	default:
		e = dicom.NewStringElement(k.tag, k.vr, k.value)
		if k.vr == dicom.UN {
			e.VR = dicom.UN
		}
	}
	return e, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// defaultKeys are the return keys of each level when -k names none.
var defaultKeys = map[string][]string{
	"PATIENT": {"PatientName", "PatientID", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies"},
	"STUDY": {"PatientName", "PatientID", "StudyDate", "StudyDescription", "ModalitiesInStudy", "AccessionNumber",
		"NumberOfStudyRelatedInstances", "StudyInstanceUID"},
	"SERIES": {"SeriesNumber", "Modality", "SeriesDescription", "NumberOfSeriesRelatedInstances", "StudyInstanceUID", "SeriesInstanceUID"},
	"IMAGE":  {"InstanceNumber", "SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"},
}

// columns returns the tags of the -k keys in the order given, without the
// level and character set.
func (q *qrFlags) columns() []dicom.Tag {
	var out []dicom.Tag
	seen := map[dicom.Tag]bool{}
	for _, s := range q.keys {
		k, err := parseKey(s)
		if err != nil || k.tag == tagQueryRetrieveLevel || k.tag == dicom.TagSpecificCharacterSet || seen[k.tag] {
			continue
		}
		seen[k.tag] = true
		out = append(out, k.tag)
	}
	return out
}

// onlyMatchKeys reports whether no -k names a return key other than the
// level and character set.
func (q *qrFlags) onlyMatchKeys() bool {
	for _, s := range q.keys {
		k, err := parseKey(s)
		if err == nil && k.tag != tagQueryRetrieveLevel && k.tag != dicom.TagSpecificCharacterSet && k.value == "" {
			return false
		}
	}
	return true
}

func runFind(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("find", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dimseFlags
	df.register(fs)
	var qf qrFlags
	qf.register(fs, "STUDY")
	asJSON := fs.Bool("json", false, "print the responses as a DICOM JSON array")
	limit := fs.Int("limit", 0, "stop after N matches (sends C-CANCEL); 0 means all")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox find [options] HOST PORT\n\n"+
			"Sends a C-FIND with the -k keys (Study Root and level STUDY unless told) and\n"+
			"prints the matches as a table, or as DICOM JSON with --json. Keys without a\n"+
			"value are return keys; when none is given the level's usual columns are asked.\n"+
			"Example: lightbox find -k PatientName='DOE^*' -k StudyDate=20240101- pacs 104\n\nOptions:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	addr, err := onlyPeer(pos)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	model, ident, err := qf.request(dimse.ServiceFind)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	level := ident.String(tagQueryRetrieveLevel)
	cols := qf.columns()
	if qf.onlyMatchKeys() {
		for _, kw := range defaultKeys[level] {
			k, _ := parseKey(kw)
			if ident.Get(k.tag) == nil {
				e, _ := keyElement(k, charset.Default)
				ident.Set(e)
				cols = append(cols, k.tag)
			}
		}
	}
	cfg, err := df.clientConfig(stderr)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg.Contexts = dimse.QueryRetrieveContexts(model)
	cfg.ExtendedNegotiations = qf.extendedNegotiation(model)

	c, err := dialPeer(ctx, addr, cfg, &df, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lightbox find: %v\n", err)
		return 1
	}
	defer c.Close()
	start := time.Now()
	var results []*dicom.Dataset
	var findErr error
	for ds, err := range c.Find(ctx, model, ident) {
		if err != nil {
			findErr = err
			break
		}
		results = append(results, ds)
		if *limit > 0 && len(results) >= *limit {
			break
		}
	}
	el := time.Since(start)
	if *asJSON {
		if err := printFindJSON(stdout, results); err != nil {
			fmt.Fprintf(stderr, "lightbox find: %v\n", err)
			return 1
		}
	} else {
		printFindTable(stdout, cols, results)
	}
	switch {
	case findErr != nil:
		fmt.Fprintf(stderr, "lightbox find: %v\n", findErr)
		return 1
	case !*asJSON:
		fmt.Fprintf(stderr, "%d match(es) at level %s in %s\n", len(results), level, el.Round(time.Microsecond))
	}
	return 0
}

// dialPeer associates, bounded by the connect timeout, describing the
// association with -v.
func dialPeer(ctx context.Context, addr string, cfg dimse.ClientConfig, df *dimseFlags, stdout io.Writer) (*dimse.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, df.connectTimeout)
	defer cancel()
	c, err := dimse.Dial(dctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	if df.verbose {
		describeAssociation(stdout, c)
	}
	return c, nil
}

// printFindTable prints one row per match, one column per key, values
// decoded to UTF-8.
func printFindTable(w io.Writer, cols []dicom.Tag, results []*dicom.Dataset) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, t := range cols {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		name := t.Keyword()
		if name == "" {
			name = t.String()
		}
		fmt.Fprint(tw, name)
	}
	fmt.Fprintln(tw)
	for _, ds := range results {
		for i, t := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cellText(ds, t))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// cellText renders one value for the table.
func cellText(ds *dicom.Dataset, t dicom.Tag) string {
	e := ds.Get(t)
	if e == nil {
		return "-"
	}
	if e.IsSequence() {
		return fmt.Sprintf("(%d items)", len(e.Items))
	}
	if e.VR.IsString() {
		s := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, ds.Text(e))
		return s
	}
	var parts []string
	for _, v := range ds.Values(e) {
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, `\`)
}

// printFindJSON prints the matches as a DICOM JSON array.
func printFindJSON(w io.Writer, results []*dicom.Dataset) error {
	out := make([]json.RawMessage, 0, len(results))
	for _, ds := range results {
		b, err := dicomjson.Marshal(ds, dicomjson.Options{})
		if err != nil {
			return err
		}
		out = append(out, b)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
