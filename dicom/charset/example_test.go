package charset_test

import (
	"errors"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom/charset"
)

func Example() {
	// (0008,0005) is "\ISO 2022 IR 87": value 1 empty, then JIS X 0208.
	cs, err := charset.Parse([]string{"", "ISO 2022 IR 87"})
	if err != nil {
		fmt.Println("log:", err)
	}
	raw := []byte("Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
	name, err := cs.Decode(raw, charset.KindPN)
	fmt.Println(name, err)

	back, err := cs.Encode(name, charset.KindPN)
	fmt.Println(string(back) == string(raw), err)
	// Output:
	// Yamada^Tarou=山田^太郎=やまだ^たろう <nil>
	// true <nil>
}

func ExampleParse() {
	cs, err := charset.Parse([]string{"ISO-IR 192"})
	fmt.Println(cs.Terms(), err)
	// Output:
	// [ISO_IR 192] charset: Specific Character Set value 1 "ISO-IR 192": not a defined term; assuming "ISO_IR 192"
}

func ExampleSet_Decode_undeclared() {
	// No (0008,0005), but UTF-8 bytes: read as UTF-8 and reported.
	name, err := charset.Default.Decode([]byte("M\xc3\xbcller^J\xc3\xbcrgen"), charset.KindPN)
	fmt.Println(name, errors.Is(err, charset.ErrUndeclared), errors.Is(err, charset.ErrReplaced))
	// Output:
	// Müller^Jürgen true false
}
