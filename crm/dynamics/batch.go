package dynamics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/callsync/callsync/httpclient"
	"github.com/google/uuid"
)

// The $batch wire format [Batching]: multipart/mixed, CRLF line ends, one
// application/http part per request, changesets as nested multipart/mixed.

// op is one request inside a $batch.
type op struct {
	method string
	// url is an absolute path (/api/data/v9.2/...), an absolute URL, or a
	// $n reference to an earlier Content-ID of the same changeset.
	url    string
	header [][2]string
	body   []byte
	// cid is the Content-ID inside a changeset (0 outside one).
	cid int
}

// part is one top-level element of a $batch: a lone request or a changeset.
type part struct {
	single    *op
	changeset []op
}

func (p part) ops() int {
	if p.single != nil {
		return 1
	}
	return len(p.changeset)
}

// opResponse is one response inside a $batch response.
type opResponse struct {
	status int
	body   []byte
	cid    int
}

// The boundaries of a $batch request: a prefix and a UUID.
const (
	batchPrefix     = "batch_"
	changesetPrefix = "changeset_"
)

// batchBody is a $batch request body [Batching], written from its parts as
// it is read (batchReader) instead of into one buffer first: the body of a
// write's $batch (200 changesets of about 1.5 KB) was a second copy of the
// parts' bodies, made once per request. Its boundaries are chosen once, so
// every reader (each attempt of the request) reads the same bytes.
type batchBody struct {
	parts []part
	// boundary is the top-level boundary; sets[i] the changeset boundary
	// of parts[i] ("" for a lone request).
	boundary string
	sets     []string
	// size is the body's length in bytes.
	size int
}

// newBatchBody is the body of a $batch of parts, with new boundaries (a
// prefix and a UUID).
func newBatchBody(parts []part) *batchBody {
	b := &batchBody{parts: parts, boundary: batchPrefix + uuid.NewString(), sets: make([]string, len(parts))}
	for i, p := range parts {
		if p.single == nil {
			b.sets[i] = changesetPrefix + uuid.NewString()
		}
	}
	b.size = batchSize(parts, len(b.boundary), len(changesetPrefix)+len(b.boundary)-len(batchPrefix))
	return b
}

// contentType is the body's Content-Type.
func (b *batchBody) contentType() string {
	return `multipart/mixed; boundary="` + b.boundary + `"`
}

// reader returns a reader of the whole body from its start; its Len is
// the body's length (the request's Content-Length).
func (b *batchBody) reader() (io.Reader, error) {
	return &batchReader{body: b, left: b.size}, nil
}

// writePart writes part i with the delimiter line before it, or the close
// delimiter for i == len(b.parts).
func (b *batchBody) writePart(w *bytes.Buffer, i int) {
	if i == len(b.parts) {
		delimiter(w, b.boundary, true)
		return
	}
	// Written piece by piece: a concatenation would allocate each line.
	delimiter(w, b.boundary, false)
	p := b.parts[i]
	if p.single != nil {
		writeOp(w, *p.single)
		return
	}
	cs := b.sets[i]
	w.WriteString(`Content-Type: multipart/mixed; boundary="`)
	w.WriteString(cs)
	w.WriteString("\"\r\n\r\n")
	for _, o := range p.changeset {
		delimiter(w, cs, false)
		writeOp(w, o)
	}
	delimiter(w, cs, true)
}

// batchReader reads a batchBody: each part is written into buf when the
// reader gets to it.
type batchReader struct {
	body *batchBody
	// next is the next part to write (len(parts): the close delimiter).
	next int
	// buf holds what is written and not yet read.
	buf bytes.Buffer
	// left is the number of bytes not yet read.
	left int
}

// Len is the number of bytes not yet read (retryablehttp's LenReader: the
// request's Content-Length).
func (r *batchReader) Len() int { return r.left }

// Read fills p as far as the body goes (a short read per part would be a
// write per part on the connection).
func (r *batchReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.buf.Len() == 0 {
			if r.next > len(r.body.parts) {
				break
			}
			r.buf.Reset()
			r.body.writePart(&r.buf, r.next)
			r.next++
		}
		k, _ := r.buf.Read(p[n:])
		n += k
	}
	r.left -= n
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// delimiter writes the delimiter line of boundary, the close delimiter's
// when last.
func delimiter(b *bytes.Buffer, boundary string, last bool) {
	b.WriteString("--")
	b.WriteString(boundary)
	if last {
		b.WriteString("--")
	}
	b.WriteString("\r\n")
}

// batchSize is the length of a batchBody for a top-level boundary
// of nb bytes and changeset boundaries of nc bytes.
func batchSize(parts []part, nb, nc int) int {
	size := nb + 6 // --b--CRLF
	for _, p := range parts {
		size += nb + 4 // --bCRLF
		if p.single != nil {
			size += opSize(*p.single)
			continue
		}
		size += len(`Content-Type: multipart/mixed; boundary=""`) + nc + 4
		for _, o := range p.changeset {
			size += nc + 4 + opSize(o)
		}
		size += nc + 6
	}
	return size
}

// opSize is the length writeOp writes for o.
func opSize(o op) int {
	size := len("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n") +
		len(o.method) + 1 + len(o.url) + len(" HTTP/1.1\r\n") + 2 + len(o.body) + 2
	if o.cid > 0 {
		size += len("Content-ID: \r\n") + len(strconv.Itoa(o.cid))
	}
	for _, h := range o.header {
		size += len(h[0]) + 2 + len(h[1]) + 2
	}
	return size
}

func writeOp(b *bytes.Buffer, o op) {
	b.WriteString("Content-Type: application/http\r\n")
	b.WriteString("Content-Transfer-Encoding: binary\r\n")
	if o.cid > 0 {
		b.WriteString("Content-ID: ")
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(o.cid), 10))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(o.method)
	b.WriteByte(' ')
	b.WriteString(o.url)
	b.WriteString(" HTTP/1.1\r\n")
	for _, h := range o.header {
		b.WriteString(h[0])
		b.WriteString(": ")
		b.WriteString(h[1])
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(o.body)
	b.WriteString("\r\n")
}

// decodeBatch reads a $batch response: one slice of responses per top-level
// part, in order. A changeset that succeeded has one response per request;
// a failed one has the failing response only (OData 4.0 §11.7.4), whichever
// way the server nests it. An answer of the common shape is read from its
// bytes (batchDecoder.batch); any other through mime/multipart
// (decodeMultipart), which reads the same (TestBatchFastPathMatchesMultipart,
// FuzzDecodeBatch).
func decodeBatch(contentType string, body []byte) ([][]opResponse, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("batch response is %q, not multipart", contentType)
	}
	d := &batchDecoder{br: bufio.NewReader(nil)}
	if out, ok, err := d.batch(body, params["boundary"]); ok {
		return out, err
	}
	return d.multipart(body, params["boundary"])
}

// decodeMultipart is decodeBatch through mime/multipart only.
func decodeMultipart(contentType string, body []byte) ([][]opResponse, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("batch response is %q, not multipart", contentType)
	}
	return (&batchDecoder{br: bufio.NewReader(nil)}).multipart(body, params["boundary"])
}

// multipart reads a $batch answer's parts with mime/multipart.
func (d *batchDecoder) multipart(body []byte, boundary string) ([][]opResponse, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	// One reader for every embedded response: each is read to its end
	// before the next part starts.
	var out [][]opResponse
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("batch response: %w", err)
		}
		rs, err := d.readPart(p)
		if err != nil {
			return out, err
		}
		out = append(out, rs)
	}
}

// batch reads a $batch answer's parts from its bytes, as multipart and
// readPart read them, when the answer has the shape splitParts and
// partHeader take (ok false otherwise, before any part is read).
func (d *batchDecoder) batch(b []byte, boundary string) (out [][]opResponse, ok bool, err error) {
	parts, ok := splitParts(nil, b, boundary)
	if !ok {
		return nil, false, nil
	}
	heads := make([]partHead, len(parts))
	for i, p := range parts {
		h, n, plain := partHeader(p)
		if !plain || len(h.cte) > 0 && !strings.EqualFold(string(h.cte), "binary") {
			return nil, false, nil
		}
		if n > len(p)-2 {
			// The header's empty line is the CRLF of the next delimiter:
			// mime/multipart reads what such a part holds.
			return nil, false, nil
		}
		h.n = n
		heads[i] = h
	}
	out = make([][]opResponse, 0, len(parts))
	for i, p := range parts {
		h := heads[i]
		mt, csBoundary, err := mediaType(string(h.ct))
		if err != nil {
			return out, true, fmt.Errorf("batch response part: %w", err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			// The part's body is what precedes the CRLF of the next
			// delimiter.
			body := p[h.n : len(p)-2]
			rs, ok, err := d.changeset(body, csBoundary)
			if !ok {
				rs, err = readChangeset(bytes.NewReader(body), csBoundary, d.br)
			}
			if err != nil {
				return out, true, err
			}
			out = append(out, rs)
			continue
		}
		r, err := d.response(p[h.n:], h.cid)
		if err != nil {
			return out, true, err
		}
		out = append(out, []opResponse{r})
	}
	return out, true, nil
}

// mediaType is mime.ParseMediaType's media type and boundary parameter,
// read without its parameter map for the plain "multipart/mixed;
// boundary=B" of a changeset answer.
func mediaType(ct string) (mt, boundary string, err error) {
	const plain = "multipart/mixed; boundary="
	if b, ok := strings.CutPrefix(ct, plain); ok && b != "" && strings.IndexFunc(b, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
	}) < 0 {
		return "multipart/mixed", b, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	return mt, params["boundary"], err
}

// batchDecoder holds what decodeBatch reuses from one part to the next.
type batchDecoder struct {
	br    *bufio.Reader
	rd    bytes.Reader // a part of a changeset
	parts [][]byte     // a changeset's parts (changeset)
}

func (d *batchDecoder) readPart(p *multipart.Part) ([]opResponse, error) {
	mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("batch response part: %w", err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		// Read into its own slice: the responses' bodies changeset reads
		// are views of it.
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("changeset response: %w", err)
		}
		if out, ok, err := d.changeset(b, params["boundary"]); ok {
			return out, err
		}
		return readChangeset(bytes.NewReader(b), params["boundary"], d.br)
	}
	r, err := readHTTP(p, p.Header.Get("Content-ID"), d.br)
	if err != nil {
		return nil, err
	}
	return []opResponse{r}, nil
}

// readChangeset reads a changeset's parts with mime/multipart.
func readChangeset(r io.Reader, boundary string, br *bufio.Reader) ([]opResponse, error) {
	mr := multipart.NewReader(r, boundary)
	var out []opResponse
	for {
		q, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("changeset response: %w", err)
		}
		r, err := readHTTP(q, q.Header.Get("Content-ID"), br)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

// changeset reads a changeset's parts from its bytes without a
// multipart.Reader (each holds a 4 KB buffer, one per written activity).
// It takes the common shape only (splitParts), parts without a
// Content-Transfer-Encoding to decode; ok is false for anything else, which
// readChangeset reads.
func (d *batchDecoder) changeset(b []byte, boundary string) (out []opResponse, ok bool, err error) {
	parts, ok := splitParts(d.parts[:0], b, boundary)
	d.parts = parts
	if !ok {
		return nil, false, nil
	}
	out = make([]opResponse, 0, len(parts))
	for _, p := range parts {
		h, n, plain := partHeader(p)
		if !plain {
			d.rd.Reset(p)
			d.br.Reset(&d.rd)
			mh, herr := textproto.NewReader(d.br).ReadMIMEHeader()
			if herr != nil {
				return nil, false, nil
			}
			h.cte, h.cid = []byte(mh.Get("Content-Transfer-Encoding")), []byte(mh.Get("Content-ID"))
			// What br and rd have not handed out is the embedded response.
			n = len(p) - d.br.Buffered() - d.rd.Len()
		}
		if len(h.cte) > 0 && !strings.EqualFold(string(h.cte), "binary") {
			return nil, false, nil
		}
		r, err := d.response(p[n:], h.cid)
		if err != nil {
			return out, true, err
		}
		out = append(out, r)
	}
	return out, true, nil
}

// splitParts splits a multipart body into its parts when it has the common
// shape (RFC 2046 §5.1.1): the first delimiter line at the start, CRLF line
// ends, at least one part, and a close delimiter. Each part is returned
// with the CRLF before the delimiter that ends it: an embedded response is
// read with it (headerEnd). ok is false for any other shape. The parts are
// appended to parts (a slice to reuse, or nil).
func splitParts(parts [][]byte, b []byte, boundary string) (_ [][]byte, ok bool) {
	if boundary == "" {
		return parts, false
	}
	next := make([]byte, 0, len("\r\n--")+len(boundary))
	next = append(append(next, "\r\n--"...), boundary...)
	dash := next[2:]
	rest, ok := delimiterLine(b, dash)
	if !ok || rest == nil {
		return parts, false
	}
	for {
		// The part ends at the next CRLF--boundary followed by a space,
		// tab, CR, LF or "--" (as mime/multipart reads it); that line must
		// then be a delimiter line.
		end := -1
		var after []byte
		for from := 0; end < 0; {
			i := bytes.Index(rest[from:], next)
			if i < 0 {
				return parts, false
			}
			i += from
			tail := rest[i+len(next):]
			if len(tail) > 0 && (bytes.IndexByte([]byte(" \t\r\n"), tail[0]) >= 0 || bytes.HasPrefix(tail, []byte("--"))) {
				a, ok := delimiterLine(rest[i+2:], dash)
				if !ok {
					return parts, false
				}
				end, after = i, a
			}
			from = i + 1
		}
		parts = append(parts, rest[:end+2:end+2])
		if after == nil {
			return parts, true
		}
		rest = after
	}
}

// delimiterLine reports whether b starts with the delimiter dash and
// returns what follows its line: nil after a close delimiter ("--"), the
// next part after "dash[ \t]*\r\n". ok is false for anything else.
func delimiterLine(b []byte, dash []byte) (after []byte, ok bool) {
	if !bytes.HasPrefix(b, dash) {
		return nil, false
	}
	b = b[len(dash):]
	if bytes.HasPrefix(b, []byte("--")) {
		b = bytes.TrimLeft(b[2:], " \t")
		return nil, len(b) == 0 || bytes.HasPrefix(b, []byte("\r\n"))
	}
	b = bytes.TrimLeft(b, " \t")
	if !bytes.HasPrefix(b, []byte("\r\n")) {
		return nil, false
	}
	return b[2:], true
}

// partHead is what a batch reader uses of a part's header: the first
// Content-Type, Content-Transfer-Encoding and Content-ID values, and the
// header's length with its empty line (n).
type partHead struct {
	ct, cte, cid []byte
	n            int
}

// partHeader reads the header of a part in its plainest shape: lines
// "Name: value" ended by CRLF, names of token characters (RFC 9110 §5.6.2),
// values of printable ASCII and tabs, no continuation lines, then an empty
// line. It returns the first Content-Type, Content-Transfer-Encoding and
// Content-ID values (trimmed of spaces and tabs, names compared ignoring
// case) and the length of the header with its empty line: what
// net/textproto's ReadMIMEHeader and Get give for such a header, without
// its map. plain is false for any other shape, which ReadMIMEHeader reads.
func partHeader(b []byte) (h partHead, n int, plain bool) {
	var haveCT, haveCTE, haveCID bool
	for {
		name, value, end, ok := headerLine(b[n:])
		if !ok {
			return partHead{}, 0, false
		}
		n += end
		if name == nil {
			return h, n, true
		}
		switch {
		case !haveCT && strings.EqualFold(string(name), "Content-Type"):
			h.ct, haveCT = value, true
		case !haveCTE && strings.EqualFold(string(name), "Content-Transfer-Encoding"):
			h.cte, haveCTE = value, true
		case !haveCID && strings.EqualFold(string(name), "Content-ID"):
			h.cid, haveCID = value, true
		}
	}
}

// headerLine reads the header line at the start of b in partHeader's
// plain shape: its name and its value trimmed of spaces and tabs, and the
// length of the line with its CRLF. name is nil for the empty line that
// ends a header; ok is false for a line of any other shape.
func headerLine(b []byte) (name, value []byte, n int, ok bool) {
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		return nil, nil, 0, false
	}
	line := b[:end]
	if len(line) == 0 {
		return nil, nil, 2, true
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, 0, false
	}
	name, value = line[:colon], line[colon+1:]
	for _, c := range name {
		if !tokenChar(c) {
			return nil, nil, 0, false
		}
	}
	for _, c := range value {
		if c != '\t' && (c < 0x20 || c > 0x7e) {
			return nil, nil, 0, false
		}
	}
	return name, bytes.Trim(value, " \t"), end + 2, true
}

// tokenChar reports whether c may appear in a header field name: a tchar of
// RFC 9110 §5.6.2.
func tokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerEnd is added after an embedded response: a response without a body
// whose header is followed by one empty line instead of two before the next
// delimiter (the CRLF before a delimiter belongs to it, RFC 2046 §5.1.1)
// would otherwise end inside its header. Microsoft's $batch page shows that
// shape in one of its example responses ("Reference URIs in request body",
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api),
// two empty lines in the others. After a complete header the CRLF is either
// past the Content-Length, read by no one, or the end of a body read to its
// end, whose trailing CRLFs are trimmed (readResponse).
const headerEnd = "\r\n"

func readHTTP(r io.Reader, cid string, br *bufio.Reader) (opResponse, error) {
	br.Reset(io.MultiReader(r, strings.NewReader(headerEnd)))
	return readResponse(br, cid)
}

// response reads the embedded HTTP response b (its part's body and the CRLF
// before the next delimiter); partCID is its part's Content-ID header.
func (d *batchDecoder) response(b []byte, partCID []byte) (opResponse, error) {
	if r, ok := plainResponse(b, partCID); ok {
		return r, nil
	}
	d.rd.Reset(b)
	d.br.Reset(&d.rd)
	return readResponse(d.br, string(partCID))
}

// plainResponse reads an embedded response of the plain shape without
// net/http: a status line "HTTP/1.1 NNN reason" (NNN 100-599), a header of
// partHeader's shape without Transfer-Encoding and with at most one
// Content-Length of decimal digits, and a body within that length, if
// given, and within httpclient.LimitRecords. It gives what readResponse
// gives for it (TestResponseFastPathMatchesNetHTTP, FuzzResponse): a 1xx,
// 204 or 304 has no body, one with a Content-Length that many bytes,
// another the rest of b (read to its end, RFC 9112 §6.3), trailing CRLFs
// trimmed. ok is false for any other shape, which readResponse reads.
func plainResponse(b []byte, partCID []byte) (r opResponse, ok bool) {
	const proto = "HTTP/1.1 "
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 || !bytes.HasPrefix(b, []byte(proto)) {
		return opResponse{}, false
	}
	code := b[len(proto):end]
	if len(code) < 3 || len(code) > 3 && code[3] != ' ' {
		return opResponse{}, false
	}
	for _, c := range code[:3] {
		if c < '0' || c > '9' {
			return opResponse{}, false
		}
		r.status = r.status*10 + int(c-'0')
	}
	for _, c := range code[3:] {
		if c != '\t' && (c < 0x20 || c > 0x7e) {
			return opResponse{}, false
		}
	}
	if r.status < 100 || r.status > 599 {
		return opResponse{}, false
	}
	n := end + 2
	var length, cid []byte
	for {
		name, value, end, ok := headerLine(b[n:])
		if !ok {
			return opResponse{}, false
		}
		n += end
		if name == nil {
			break
		}
		switch {
		case strings.EqualFold(string(name), "Transfer-Encoding"):
			return opResponse{}, false
		case strings.EqualFold(string(name), "Content-Length"):
			if length != nil || len(value) == 0 || len(value) > 18 {
				return opResponse{}, false
			}
			length = value
		case cid == nil && strings.EqualFold(string(name), "Content-ID"):
			cid = value
		}
	}
	body := b[n:]
	size := -1
	if length != nil {
		size = 0
		for _, c := range length {
			if c < '0' || c > '9' {
				return opResponse{}, false
			}
			size = size*10 + int(c-'0')
		}
	}
	switch {
	case r.status < 200, r.status == 204, r.status == 304:
		body = nil
	case size > len(body):
		return opResponse{}, false // cut short: readResponse's error
	case size >= 0:
		body = body[:size]
	}
	if int64(len(body)) > httpclient.LimitRecords {
		return opResponse{}, false
	}
	r.body = trimBody(body)
	r.cid = contentID(partCID)
	if r.cid == 0 {
		r.cid = contentID(cid)
	}
	return r, true
}

// contentID is strconv.Atoi's value of a Content-ID header value (ignoring
// its error: 0 when it is not a number) as readResponse reads it, of up to
// 18 digits without a string.
func contentID(v []byte) int {
	if len(v) == 0 || len(v) > 18 {
		id, _ := strconv.Atoi(strings.TrimSpace(string(v)))
		return id
	}
	id := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			id, _ = strconv.Atoi(strings.TrimSpace(string(v)))
			return id
		}
		id = id*10 + int(c-'0')
	}
	return id
}

// trimBody is an embedded response's body without its trailing CRLFs (the
// line ends before the next delimiter); nil when nothing is left.
func trimBody(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil
	}
	return b
}

// readResponse reads the embedded HTTP response br holds; partCID is its
// part's Content-ID header.
func readResponse(br *bufio.Reader, partCID string) (opResponse, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return opResponse{}, fmt.Errorf("batch response: embedded HTTP response: %w", err)
	}
	defer resp.Body.Close()
	// net/http reads any three digits as a status; an HTTP status is 100-599
	// (RFC 9110 §15), and 0 would read as no answer at all.
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return opResponse{}, fmt.Errorf("batch response: embedded HTTP response: invalid status %d", resp.StatusCode)
	}
	// Inside an answer already read within its limit; capped all the same.
	// A response without a body (http.NoBody: a 204, Content-Length 0,
	// the answer to a create) reads as empty without a buffer.
	var b []byte
	if resp.Body != http.NoBody {
		if b, err = httpclient.ReadResponse(resp, httpclient.LimitRecords, "dynamics: batch response: embedded body"); err != nil {
			return opResponse{}, err
		}
	}
	cid, _ := strconv.Atoi(strings.TrimSpace(partCID))
	if cid == 0 {
		cid, _ = strconv.Atoi(strings.TrimSpace(resp.Header.Get("Content-ID")))
	}
	return opResponse{status: resp.StatusCode, body: trimBody(b), cid: cid}, nil
}
