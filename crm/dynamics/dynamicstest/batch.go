package dynamicstest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/google/uuid"
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

	boundary := "batchresponse_" + uuid.NewString()
	out, status := s.runBatch(items, boundary, cont)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	w.Header().Set("OData-Version", "4.0")
	if cont {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	w.WriteHeader(status)
	w.Write(out.Bytes())
	return ops
}

// runBatch executes the items in order under s.mu and writes the response
// parts.
func (s *Server) runBatch(items []batchItem, boundary string, cont bool) (out *bytes.Buffer, status int) {
	out, status = &bytes.Buffer{}, http.StatusOK
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			out.Reset()
			out.WriteString(string(errBody("0x80040216", fmt.Sprintf("dynamicstest bug: %v", p))))
			status = http.StatusInternalServerError
		}
	}()
	defer func() { out.WriteString("--" + boundary + "--\r\n") }()
	for _, it := range items {
		if it.single != nil {
			resp := s.execBatchReq(*it.single, nil)
			out.WriteString("--" + boundary + "\r\n")
			writeHTTPPart(out, "", resp)
			if resp.status >= 400 && !cont {
				status = resp.status
				break
			}
			continue
		}
		t := &tx{refs: map[string]string{}}
		var resps []apiResponse
		var failed *apiResponse
		failedCID := ""
		for _, q := range it.changeset {
			resp := s.execBatchReq(q, t)
			if resp.status >= 400 {
				failed, failedCID = &resp, q.cid
				break
			}
			if loc := resp.header.Get("Odata-Entityid"); loc != "" && q.cid != "" {
				t.refs[q.cid] = strings.TrimPrefix(loc, s.URL+APIPath+"/")
			}
			resps = append(resps, resp)
		}
		out.WriteString("--" + boundary + "\r\n")
		if failed != nil {
			t.rollback()
			writeHTTPPart(out, failedCID, *failed)
			if !cont {
				status = failed.status
				break
			}
			continue
		}
		cs := "changesetresponse_" + uuid.NewString()
		out.WriteString("Content-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n")
		for i, resp := range resps {
			out.WriteString("--" + cs + "\r\n")
			writeHTTPPart(out, it.changeset[i].cid, resp)
		}
		out.WriteString("--" + cs + "--\r\n")
	}
	return out, status
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

func parseBatch(body []byte, boundary string) ([]batchItem, error) {
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
				req, err := readBatchReq(q)
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
			req, err := readBatchReq(p)
			if err != nil {
				return nil, err
			}
			items = append(items, batchItem{single: &req})
		default:
			return nil, fmt.Errorf("part of type %q; want application/http or multipart/mixed", mt)
		}
	}
}

func readBatchReq(p *multipart.Part) (batchReq, error) {
	if mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); mt != "application/http" {
		return batchReq{}, fmt.Errorf("request part of type %q; want application/http", mt)
	}
	if te := p.Header.Get("Content-Transfer-Encoding"); te != "binary" {
		return batchReq{}, fmt.Errorf("request part with Content-Transfer-Encoding %q; want binary", te)
	}
	raw, err := io.ReadAll(p)
	if err != nil {
		return batchReq{}, err
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		// A request without headers or body ends right after its line.
		head, body = bytes.TrimSuffix(raw, []byte("\r\n")), nil
	}
	if bytes.Contains(bytes.ReplaceAll(head, []byte("\r\n"), nil), []byte("\n")) {
		return batchReq{}, fmt.Errorf("request lines must end with CRLF")
	}
	lines := strings.Split(string(head), "\r\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/") {
		return batchReq{}, fmt.Errorf("bad request line %q", lines[0])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return batchReq{}, fmt.Errorf("bad header line %q", l)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return batchReq{method: f[0], target: f[1], header: h, body: body, cid: strings.TrimSpace(p.Header.Get("Content-ID"))}, nil
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
	return s.exec(apiRequest{method: q.method, path: path, query: query, header: q.header, body: q.body}, t)
}

func writeHTTPPart(b *bytes.Buffer, cid string, r apiResponse) {
	b.WriteString("Content-Type: application/http\r\n")
	b.WriteString("Content-Transfer-Encoding: binary\r\n")
	if cid != "" {
		b.WriteString("Content-ID: " + cid + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString("HTTP/1.1 " + strconv.Itoa(r.status) + " " + http.StatusText(r.status) + "\r\n")
	if r.body != nil {
		b.WriteString("Content-Type: application/json; odata.metadata=minimal\r\n")
	}
	b.WriteString("OData-Version: 4.0\r\n")
	for k, vs := range r.header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	b.Write(r.body)
	b.WriteString("\r\n")
}
