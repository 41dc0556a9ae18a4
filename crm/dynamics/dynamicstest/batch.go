package dynamicstest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/callsync/callsync/internal/double"
)

// $batch (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api):
// multipart/mixed with CRLF line ends; lone
// requests and changesets (nested multipart/mixed, all-or-nothing, Content-ID
// references as $n); at most MaxBatchOps requests; no GET inside a changeset;
// executed in order; without Prefer: odata.continue-on-error processing stops
// at the first failure and the batch carries its status.

type batchReq struct {
	method string
	target string
	header http.Header
	body   []byte
	cid    string
	// entity is the body read as an entity (decode), nil before.
	entity *entityBody
}

type batchItem struct {
	single    *batchReq
	changeset []batchReq
}

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, body []byte) (ops int) {
	fail := func(msg string) int {
		writeJSON(w, http.StatusBadRequest, errBody(codeOData, msg))
		return ops
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return fail("The batch request must have a Content-Type of multipart/mixed with a boundary.")
	}
	if err := checkCRLF(body, params["boundary"]); err != nil {
		return fail("The batch request is malformed: " + err.Error())
	}
	items, err := parseBatch(body, params["boundary"])
	if err != nil {
		return fail("The batch request is malformed: " + err.Error())
	}
	for _, it := range items {
		if it.single != nil {
			ops++
			continue
		}
		ops += len(it.changeset)
		seen := map[string]bool{}
		for _, q := range it.changeset {
			if q.method == http.MethodGet {
				return fail("A GET request is not allowed inside a change set.")
			}
			if q.cid != "" && seen[q.cid] {
				return fail(fmt.Sprintf("The Content-ID '%s' is used twice in one change set.", q.cid))
			}
			seen[q.cid] = true
		}
	}
	if ops > s.opts.MaxBatchOps {
		// [Batching: Max 1000 requests]; wording [assumed].
		return fail(fmt.Sprintf("The number of requests in the batch (%d) exceeds the limit of %d.", ops, s.opts.MaxBatchOps))
	}
	cont := false
	if _, ok := preferences(r.Header)["odata.continue-on-error"]; ok {
		cont = true
	}

	// The bodies are read before the lock is taken (decoded), so the
	// lock is held only while the requests run; one after the other, with
	// one Decoder.
	var dec double.Decoder
	for _, it := range items {
		if it.single != nil {
			it.single.decode(&dec)
		}
		for i := range it.changeset {
			it.changeset[i].decode(&dec)
		}
	}

	boundary := "batchresponse_" + uuid.NewString()
	out, status := s.runBatch(items, boundary, cont)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	w.Header().Set("OData-Version", "4.0")
	if cont {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	w.WriteHeader(status)
	w.Write(out.Bytes())
	s.answers.Put(out)
	return ops
}

// decode reads q's body as an entity (decodeEntity, with dec) when q is a
// POST or a PATCH, the requests that read one, and keeps the result for
// the run.
func (q *batchReq) decode(dec *double.Decoder) {
	if q.method != http.MethodPost && q.method != http.MethodPatch {
		return
	}
	m, err := decodeEntity(dec, q.header, q.body)
	q.entity = &entityBody{m, err}
}

// runBatch executes the items in order and writes the response parts.
// Each item, a lone request or a whole changeset, runs under s.mu, and the
// lock is let go between items: a changeset is one transaction
// (all-or-nothing, no other request sees a part of it), while the requests
// of other batches may run between two items, as on Dataverse, where the
// requests of a batch are run one after another but the batch is not one
// transaction (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api#change-sets).
// The parts are written outside the lock.
func (s *Server) runBatch(items []batchItem, boundary string, cont bool) (out *bytes.Buffer, status int) {
	// About 450 bytes answer a write without a body (a changeset's POST
	// or PATCH): sized for them, a backfill's answer is written without
	// growing its buffer; one with bodies (GETs) grows from there. The
	// buffers are reused (s.answers).
	ops := 0
	for _, it := range items {
		ops += max(1, len(it.changeset))
	}
	out, status = s.answers.Get().(*bytes.Buffer), http.StatusOK
	out.Reset()
	out.Grow(512 * ops)
	for _, it := range items {
		resps, failed, bug := s.runItem(it)
		if bug != nil {
			out.Reset()
			out.WriteString(string(errBody("0x80040216", fmt.Sprintf("dynamicstest bug: %v", bug))))
			return out, http.StatusInternalServerError
		}
		out.WriteString("--" + boundary + "\r\n")
		if it.single != nil {
			writeHTTPPart(out, "", resps[0])
		} else if failed {
			writeHTTPPart(out, it.changeset[len(resps)-1].cid, resps[len(resps)-1])
		} else {
			cs := "changesetresponse_" + uuid.NewString()
			out.WriteString("Content-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n")
			for i, resp := range resps {
				out.WriteString("--" + cs + "\r\n")
				writeHTTPPart(out, it.changeset[i].cid, resp)
			}
			out.WriteString("--" + cs + "--\r\n")
		}
		if failed && !cont {
			status = resps[len(resps)-1].status
			break
		}
	}
	out.WriteString("--" + boundary + "--\r\n")
	return out, status
}

// runItem runs a lone request or a changeset under s.mu. It returns the
// answers in order; failed says the last one failed (a changeset stops
// there and is rolled back). A bug in the double (a panic) rolls the
// changeset back too and is returned as bug.
func (s *Server) runItem(it batchItem) (resps []apiResponse, failed bool, bug any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *tx
	defer func() {
		if p := recover(); p != nil {
			resps, failed, bug = nil, true, p
			if t != nil {
				t.rollbackAfterBug()
			}
		}
	}()
	if it.single != nil {
		resp := s.execBatchReq(*it.single, nil)
		return []apiResponse{resp}, resp.status >= 400, nil
	}
	t = &tx{refs: map[string]string{}}
	resps = make([]apiResponse, 0, len(it.changeset))
	for _, q := range it.changeset {
		resp := s.execBatchReq(q, t)
		resps = append(resps, resp)
		if resp.status >= 400 {
			t.rollback()
			return resps, true, nil
		}
		if loc := resp.header.Get("Odata-Entityid"); loc != "" && q.cid != "" {
			// loc without the prefix s.URL+APIPath+"/" when it has it,
			// without a string made of the prefix.
			if rel, ok := strings.CutPrefix(loc, s.URL); ok {
				if rel, ok := strings.CutPrefix(rel, APIPath+"/"); ok {
					loc = rel
				}
			}
			t.refs[q.cid] = loc
		}
	}
	return resps, false, nil
}

// checkCRLF rejects a batch whose boundary lines are not CRLF-delimited
// [Batching: every line ends with CRLF; the error wording is assumed].
func checkCRLF(body []byte, boundary string) error {
	delim := []byte("--" + boundary)
	all := bytes.Count(body, delim)
	crlf := bytes.Count(body, append([]byte("\r\n"), delim...))
	if bytes.HasPrefix(body, delim) {
		crlf++
	}
	if all == 0 || all != crlf {
		return fmt.Errorf("every line, boundary lines included, must end with CRLF")
	}
	return nil
}

// parseBatch reads a $batch body's requests: from its bytes (batchParts)
// when it has the shape clients send, else with mime/multipart, which also
// words the errors. Both read the same requests (TestBatchPartsAsMultipart);
// the bytes spare a multipart reader, its 4 KB buffer and a copy of every
// part per request, garbage that a backfill's doubles would collect on the
// cores the client under test uses.
func parseBatch(body []byte, boundary string) ([]batchItem, error) {
	if items, ok := batchFromBytes(body, boundary); ok {
		return items, nil
	}
	return parseBatchMultipart(body, boundary)
}

// batchFromBytes is parseBatch for the common shape (batchParts); ok is
// false for anything else, an error included.
func batchFromBytes(body []byte, boundary string) (items []batchItem, ok bool) {
	parts, ok := batchParts(body, boundary)
	if !ok {
		return nil, false
	}
	items = make([]batchItem, 0, len(parts))
	for _, p := range parts {
		mt, cb, err := partMediaType(p.header.contentType)
		if err != nil {
			return nil, false
		}
		switch mt {
		case "multipart/mixed":
			if cb == "" || checkCRLF(p.body, cb) != nil {
				return nil, false
			}
			inner, ok := batchParts(p.body, cb)
			if !ok {
				return nil, false
			}
			cs := make([]batchReq, 0, len(inner))
			for _, q := range inner {
				req, err := readBatchReq(q.header.contentType, q.header.encoding, q.header.contentID, q.body)
				if err != nil {
					return nil, false
				}
				cs = append(cs, req)
			}
			items = append(items, batchItem{changeset: cs})
		case "application/http":
			req, err := readBatchReq(p.header.contentType, p.header.encoding, p.header.contentID, p.body)
			if err != nil {
				return nil, false
			}
			items = append(items, batchItem{single: &req})
		default:
			return nil, false
		}
	}
	return items, true
}

// rawPart is one part of a multipart body: its header and its bytes.
type rawPart struct {
	header partHead
	body   []byte
}

// partHead is what a $batch reader reads of a part's header: the first
// Content-Type, Content-Transfer-Encoding and Content-ID values, as
// textproto.MIMEHeader's Get returns them ("" when absent).
type partHead struct {
	contentType, encoding, contentID string
}

// partMediaType is mime.ParseMediaType for a part's Content-Type, of
// which a $batch reader keeps the media type and the boundary parameter
// ("" when absent), without its work and its map of parameters for the
// values clients send: "application/http", the type of every request
// part, and "multipart/mixed; boundary=" followed by a token, a change
// set's (FuzzPartMediaTypeAsMime).
func partMediaType(v string) (mediatype, boundary string, err error) {
	if v == "application/http" {
		return v, "", nil
	}
	if b, ok := strings.CutPrefix(v, "multipart/mixed; boundary="); ok && b != "" && isToken(b) {
		return "multipart/mixed", b, nil
	}
	mt, params, err := mime.ParseMediaType(v)
	return mt, params["boundary"], err
}

// isToken reports whether s is made of the bytes mime.ParseMediaType
// reads as a token (RFC 1521: visible ASCII but tspecials).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// batchParts splits a multipart body (RFC 2046 §5.1.1) into its parts as
// mime/multipart reads them, for the shape a $batch client sends: the first
// delimiter line at the start, CRLF line ends, at least one part, part
// headers of one line each, no Content-Transfer-Encoding other than binary.
// ok is false for anything else, and for what mime/multipart refuses.
func batchParts(b []byte, boundary string) (parts []rawPart, ok bool) {
	dash := "--" + boundary
	rest, ok := delimiterLine(b, dash)
	if !ok || rest == nil {
		return nil, false
	}
	next := []byte("\r\n" + dash)
	// Every part but the last ends at a CRLF--boundary: room for as many
	// parts as rest holds of them, plus one.
	parts = make([]rawPart, 0, bytes.Count(rest, next)+1)
	for {
		h, body, ok := partHeader(rest)
		if !ok || bytes.HasPrefix(body, []byte(dash)) {
			// A body that starts with the delimiter itself, without the
			// CRLF before it, is one mime/multipart reads as empty.
			return nil, false
		}
		// The part ends at the first CRLF--boundary followed by a space,
		// tab, CR, LF or "--" (as mime/multipart reads it); that line
		// must then be a delimiter line.
		end := -1
		var after []byte
		for from := 0; end < 0; {
			i := bytes.Index(body[from:], next)
			if i < 0 {
				return nil, false
			}
			i += from
			tail := body[i+len(next):]
			if len(tail) > 0 && (tail[0] == ' ' || tail[0] == '\t' || tail[0] == '\r' || tail[0] == '\n' || bytes.HasPrefix(tail, []byte("--"))) {
				a, ok := delimiterLine(body[i+2:], dash)
				if !ok {
					return nil, false
				}
				end, after = i, a
			}
			from = i + 1
		}
		parts = append(parts, rawPart{header: h, body: body[:end]})
		if after == nil {
			return parts, true
		}
		rest = after
	}
}

// delimiterLine reports whether b starts with the delimiter dash and
// returns what follows its line: nil after a close delimiter
// ("dash--[ \t]*" then CRLF or the end), the next part after
// "dash[ \t]*\r\n". ok is false for anything else, and for a line longer
// than mime/multipart's 4 KB read buffer holds.
func delimiterLine(b []byte, dash string) (after []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(dash)) {
		return nil, false
	}
	rest := b[len(dash):]
	close := bytes.HasPrefix(rest, []byte("--"))
	if close {
		rest = rest[2:]
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(b)-len(rest) > 1024 {
		return nil, false
	}
	if close {
		return nil, len(rest) == 0 || bytes.HasPrefix(rest, []byte("\r\n"))
	}
	if !bytes.HasPrefix(rest, []byte("\r\n")) {
		return nil, false
	}
	return rest[2:], true
}

// partHeader reads a part's header lines up to the blank line as
// textproto.Reader.ReadMIMEHeader does, for lines that end with CRLF, are
// not continued, and hold a token, a colon and a value of visible
// characters, spaces and tabs; it returns what partHead keeps of the header
// and what follows the blank line. ok is false for anything else, and for a
// Content-Transfer-Encoding other than one "binary" (mime/multipart decodes
// quoted-printable). A field name is matched as its canonical form
// (textproto.CanonicalMIMEHeaderKey) is: a token's canonical forms are
// equal exactly when the names are equal ignoring ASCII case.
func partHeader(b []byte) (h partHead, rest []byte, ok bool) {
	encodings, seenType, seenID := 0, false, false
	for n := 0; ; n++ {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 || n > 100 {
			return partHead{}, nil, false
		}
		line := b[:i]
		b = b[i+2:]
		if len(line) == 0 {
			break
		}
		if len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			return partHead{}, nil, false // a continued line
		}
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found || len(k) == 0 {
			return partHead{}, nil, false
		}
		for _, c := range k {
			if !tokenByte(c) {
				return partHead{}, nil, false
			}
		}
		for _, c := range v {
			if c != '\t' && (c < 0x20 || c == 0x7f) {
				return partHead{}, nil, false
			}
		}
		v = bytes.Trim(v, " \t")
		switch {
		case asciiEqualFold(k, "Content-Type"):
			if !seenType {
				h.contentType, seenType = headerValue(v), true
			}
		case asciiEqualFold(k, "Content-Transfer-Encoding"):
			if encodings == 0 {
				h.encoding = headerValue(v)
			}
			encodings++
		case asciiEqualFold(k, "Content-ID"):
			if !seenID {
				h.contentID, seenID = headerValue(v), true
			}
		}
	}
	if encodings > 0 && (encodings != 1 || h.encoding != "binary") {
		return partHead{}, nil, false
	}
	return h, b, true
}

// asciiEqualFold reports whether b and s are equal ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		d := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// headerValue is string(v), without a copy for the values every request
// part has.
func headerValue(v []byte) string {
	switch string(v) {
	case "application/http":
		return "application/http"
	case "binary":
		return "binary"
	}
	return string(v)
}

// tokenByte reports whether c may be in a header field name (RFC 9110
// §5.6.2 tchar).
func tokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseBatchMultipart is parseBatch with mime/multipart.
func parseBatchMultipart(body []byte, boundary string) ([]batchItem, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var items []batchItem
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return nil, fmt.Errorf("part without Content-Type")
		}
		switch {
		case mt == "multipart/mixed":
			if params["boundary"] == "" {
				return nil, fmt.Errorf("change set without boundary")
			}
			raw, err := io.ReadAll(p)
			if err != nil {
				return nil, err
			}
			if err := checkCRLF(raw, params["boundary"]); err != nil {
				return nil, err
			}
			cr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
			var cs []batchReq
			for {
				q, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				raw, err := io.ReadAll(q)
				if err != nil {
					return nil, err
				}
				req, err := readBatchReq(q.Header.Get("Content-Type"), q.Header.Get("Content-Transfer-Encoding"), q.Header.Get("Content-ID"), raw)
				if err != nil {
					return nil, err
				}
				cs = append(cs, req)
			}
			if len(cs) == 0 {
				return nil, fmt.Errorf("empty change set")
			}
			items = append(items, batchItem{changeset: cs})
		case mt == "application/http":
			raw, err := io.ReadAll(p)
			if err != nil {
				return nil, err
			}
			req, err := readBatchReq(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-ID"), raw)
			if err != nil {
				return nil, err
			}
			items = append(items, batchItem{single: &req})
		default:
			return nil, fmt.Errorf("part of type %q; want application/http or multipart/mixed", mt)
		}
	}
}

// readBatchReq reads the request a part holds: from its part header's
// Content-Type ct, Content-Transfer-Encoding te and Content-ID cid, and
// its bytes raw.
func readBatchReq(ct, te, cid string, raw []byte) (batchReq, error) {
	if mt, _, _ := partMediaType(ct); mt != "application/http" {
		return batchReq{}, fmt.Errorf("request part of type %q; want application/http", mt)
	}
	if te != "binary" {
		return batchReq{}, fmt.Errorf("request part with Content-Transfer-Encoding %q; want binary", te)
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		// A request without headers or body ends right after its line.
		head, body = bytes.TrimSuffix(raw, []byte("\r\n")), nil
	}
	if bareLF(head) {
		return batchReq{}, fmt.Errorf("request lines must end with CRLF")
	}
	rest := string(head)
	line, rest, more := strings.Cut(rest, "\r\n")
	f, n := requestLine(line)
	if n != 3 || !strings.HasPrefix(f[2], "HTTP/") {
		return batchReq{}, fmt.Errorf("bad request line %q", line)
	}
	// The header is made at its size, and a name's first value is a
	// slice of one array of them (of capacity one: a second value is
	// appended to a copy, as http.Header.Add appends), instead of a map
	// grown and a slice made per line.
	var h http.Header
	var vals []string
	if more {
		n := strings.Count(rest, "\r\n") + 1
		h, vals = make(http.Header, n), make([]string, n)
	} else {
		h = http.Header{}
	}
	for i := 0; more; i++ {
		var l string
		l, rest, more = strings.Cut(rest, "\r\n")
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return batchReq{}, fmt.Errorf("bad header line %q", l)
		}
		k, v = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v)
		if vs, ok := h[k]; ok {
			h[k] = append(vs, v)
			continue
		}
		vals[i] = v
		h[k] = vals[i : i+1 : i+1]
	}
	return batchReq{method: f[0], target: f[1], header: h, body: body, cid: strings.TrimSpace(cid)}, nil
}

// bareLF reports whether b has an LF that does not end a CRLF (as b
// without its CRLFs still holding an LF).
func bareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// requestLine splits a request line into its fields as strings.Fields
// does and returns the first three and how many there are; a line of
// visible ASCII with single spaces between three fields, the line every
// client writes, is split without strings.Fields' slice.
func requestLine(line string) (f [3]string, n int) {
	i := strings.IndexByte(line, ' ')
	j := i + 1 + strings.IndexByte(line[i+1:], ' ')
	fast := i > 0 && j > i+1 && j < len(line)-1
	for k := 0; fast && k < len(line); k++ {
		if c := line[k]; (c < 0x21 || c > 0x7e) && k != i && k != j {
			fast = false
		}
	}
	if fast {
		return [3]string{line[:i], line[i+1 : j], line[j+1:]}, 3
	}
	all := strings.Fields(line)
	copy(f[:], all)
	return f, len(all)
}

// execBatchReq resolves a request's URL and runs it.
func (s *Server) execBatchReq(q batchReq, t *tx) apiResponse {
	if len(q.target) > s.opts.MaxBatchURL {
		// [Finding a caller by phone: a GET inside $batch may be 65,536];
		// status [assumed].
		return errResponse(http.StatusRequestURITooLong, codeOData, fmt.Sprintf("The request URL is %d characters long; the limit inside $batch is %d.", len(q.target), s.opts.MaxBatchURL))
	}
	target := q.target
	if strings.HasPrefix(target, "$") {
		ref, rest, _ := strings.Cut(target[1:], "/")
		if t == nil || t.refs[ref] == "" {
			return errResponse(http.StatusBadRequest, codeOData, fmt.Sprintf("Content-ID reference '$%s' was not found in the change set.", ref))
		}
		target = t.refs[ref]
		if rest != "" {
			target += "/" + rest
		}
	} else {
		if i := strings.Index(target, "://"); i >= 0 {
			if j := strings.IndexByte(target[i+3:], '/'); j >= 0 {
				target = target[i+3+j:]
			} else {
				target = "/"
			}
		}
		if strings.HasPrefix(target, "/") {
			rel, ok := strings.CutPrefix(target, APIPath+"/")
			if !ok {
				return errResponse(http.StatusNotFound, codeOData, fmt.Sprintf("Resource not found for the segment '%s'.", target))
			}
			target = rel
		}
	}
	path, query, _ := strings.Cut(target, "?")
	return s.exec(apiRequest{method: q.method, path: path, query: query, header: q.header, body: q.body, entity: q.entity}, t)
}

// writeHTTPPart writes a response part. Its header lines, after
// OData-Version, are those of r.header in the order of their names (the
// order net/http writes a response's header in): a create's Location, then
// its OData-EntityId, as in Microsoft's $batch examples
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api#change-sets).
// The pieces are written one by one, without a string made of them.
func writeHTTPPart(b *bytes.Buffer, cid string, r apiResponse) {
	b.WriteString("Content-Type: application/http\r\n")
	b.WriteString("Content-Transfer-Encoding: binary\r\n")
	if cid != "" {
		b.WriteString("Content-ID: ")
		b.WriteString(cid)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\nHTTP/1.1 ")
	b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(r.status), 10))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(r.status))
	b.WriteString("\r\n")
	if r.body != nil {
		b.WriteString("Content-Type: application/json; odata.metadata=minimal\r\n")
	}
	b.WriteString("OData-Version: 4.0\r\n")
	var room [4]string
	keys := room[:0]
	for k := range r.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.header[k] {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n")
	b.Write(r.body)
	b.WriteString("\r\n")
}
