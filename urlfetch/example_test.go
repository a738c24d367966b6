package urlfetch_test

import (
	"errors"
	"fmt"

	"github.com/quarryhq/quarry/urlfetch"
)

func ExampleValidateURL() {
	for _, raw := range []string{
		"HTTPS://Example.com/report.pdf#page=2",
		"http://169.254.169.254/latest/meta-data/",
		"http://0x7f000001/",
		"file:///etc/passwd",
		"http://user:pass@example.com/",
		"http://example.com:6379/",
	} {
		u, err := urlfetch.ValidateURL(raw)
		switch {
		case errors.Is(err, urlfetch.ErrForbidden):
			fmt.Println("forbidden:", raw)
		case errors.Is(err, urlfetch.ErrInvalidURL):
			fmt.Println("invalid:  ", raw)
		default:
			fmt.Println("ok:       ", u)
		}
	}
	// Output:
	// ok:        https://example.com/report.pdf
	// forbidden: http://169.254.169.254/latest/meta-data/
	// invalid:   http://0x7f000001/
	// forbidden: file:///etc/passwd
	// forbidden: http://user:pass@example.com/
	// forbidden: http://example.com:6379/
}

func ExampleParseAllowCIDRs() {
	// As read from QUARRY_FETCH_ALLOW_CIDRS.
	cidrs, err := urlfetch.ParseAllowCIDRs("127.0.0.2, 10.20.0.0/16, fd12:3456::/48")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cidrs)

	f, err := urlfetch.New(urlfetch.Config{AllowCIDRs: cidrs, AllowPorts: []int{443, 8443}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.CheckAddr("tcp4", "10.20.1.2:8443"))
	fmt.Println(f.CheckAddr("tcp4", "10.21.1.2:8443"))
	fmt.Println(f.CheckAddr("tcp4", "10.20.1.2:22"))
	// Output:
	// [127.0.0.2/32 10.20.0.0/16 fd12:3456::/48]
	// <nil>
	// urlfetch: forbidden: address 10.21.1.2 is private (10.0.0.0/8)
	// urlfetch: forbidden: port 22 is not allowed
}
