package dynamicstest

import (
	"fmt"
	"regexp"
	"strconv"
)

// Paging as Dataverse documents it
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results):
// `Prefer: odata.maxpagesize` (at most 5,000, the default) sizes a page and
// @odata.nextLink, the same query with a $skiptoken paging cookie, fetches
// the next one. Without an order, rows come in primary-key order and the
// cookie holds the last row of the page, so "Dataverse can start with the
// next record after the last one on the preceding page"
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results#ordering-and-paging).
// The double orders by creation instead of by GUID (Dataverse creates
// sequential GUIDs, so the two agree for rows it creates [assumed]) and
// finds the page's start by binary search on the creation position: a page
// costs its own rows, not the table's.

// pageCookie is the double's $skiptoken: the page number, the last row of
// the page before (its id and creation position), how many rows the listing
// returned so far (for $top), and for change tracking the version the
// listing started at and, in a delta, the last deletion listed. The
// attribute names other than pagenumber and istracking are the double's own
// [assumed]; clients treat the token as opaque.
type pageCookie struct {
	page     int
	last     string
	pos      int64
	count    int
	tracking bool
	version  int64
	deleted  int64
}

func (c pageCookie) String() string {
	if c.tracking {
		return fmt.Sprintf(`<cookie pagenumber="%d" last="%s" position="%d" count="%d" deleted="%d" istracking="True" version="%d" />`,
			c.page, c.last, c.pos, c.count, c.deleted, c.version)
	}
	return fmt.Sprintf(`<cookie pagenumber="%d" last="%s" position="%d" count="%d" istracking="False" />`, c.page, c.last, c.pos, c.count)
}

var (
	cookieRE     = regexp.MustCompile(`^<cookie((?: [a-z]+="[^"]*")+) />$`)
	cookieAttrRE = regexp.MustCompile(` ([a-z]+)="([^"]*)"`)
)

// parseCookie reads a $skiptoken the double wrote.
func parseCookie(v string) (pageCookie, bool) {
	m := cookieRE.FindStringSubmatch(v)
	if m == nil {
		return pageCookie{}, false
	}
	attrs := map[string]string{}
	for _, a := range cookieAttrRE.FindAllStringSubmatch(m[1], -1) {
		attrs[a[1]] = a[2]
	}
	var c pageCookie
	var err error
	num := func(k string) int64 {
		if err != nil {
			return 0
		}
		var n int64
		if n, err = strconv.ParseInt(attrs[k], 10, 64); err == nil && n < 0 {
			err = fmt.Errorf("negative %s", k)
		}
		return n
	}
	c.page, c.last, c.pos, c.count = int(num("pagenumber")), attrs["last"], num("position"), int(num("count"))
	switch attrs["istracking"] {
	case "True":
		c.tracking, c.version, c.deleted = true, num("version"), num("deleted")
	case "False":
	default:
		return pageCookie{}, false
	}
	return c, err == nil
}
