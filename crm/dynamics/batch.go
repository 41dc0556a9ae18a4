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
	header http.Header
	body   []byte
	cid    int
}

// encodeBatch writes parts as a $batch body and returns its Content-Type.
func encodeBatch(parts []part) (string, []byte) {
	boundary := "batch_" + uuid.NewString()
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		if p.single != nil {
			writeOp(&b, *p.single)
			continue
		}
		cs := "changeset_" + uuid.NewString()
		b.WriteString(`Content-Type: multipart/mixed; boundary="` + cs + "\"\r\n\r\n")
		for _, o := range p.changeset {
			b.WriteString("--" + cs + "\r\n")
			writeOp(&b, o)
		}
		b.WriteString("--" + cs + "--\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return `multipart/mixed; boundary="` + boundary + `"`, b.Bytes()
}

func writeOp(b *bytes.Buffer, o op) {
	b.WriteString("Content-Type: application/http\r\n")
	b.WriteString("Content-Transfer-Encoding: binary\r\n")
	if o.cid > 0 {
		b.WriteString("Content-ID: " + strconv.Itoa(o.cid) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(o.method + " " + o.url + " HTTP/1.1\r\n")
	for _, h := range o.header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(o.body)
	b.WriteString("\r\n")
}

// decodeBatch reads a $batch response: one slice of responses per top-level
// part, in order. A changeset that succeeded has one response per request;
// a failed one has the failing response only (OData 4.0 §11.7.4), whichever
// way the server nests it.
func decodeBatch(contentType string, body []byte) ([][]opResponse, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("batch response is %q, not multipart", contentType)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	// One reader for every embedded response: each is read to its end
	// before the next part starts.
	br := bufio.NewReader(nil)
	var out [][]opResponse
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("batch response: %w", err)
		}
		rs, err := readPart(p, br)
		if err != nil {
			return out, err
		}
		out = append(out, rs)
	}
}

func readPart(p *multipart.Part, br *bufio.Reader) ([]opResponse, error) {
	mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("batch response part: %w", err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(p, params["boundary"])
		var out []opResponse
		for {
			q, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, fmt.Errorf("changeset response: %w", err)
			}
			r, err := readHTTP(q, q.Header, br)
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	r, err := readHTTP(p, p.Header, br)
	if err != nil {
		return nil, err
	}
	return []opResponse{r}, nil
}

func readHTTP(r io.Reader, h textproto.MIMEHeader, br *bufio.Reader) (opResponse, error) {
	br.Reset(r)
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
	b, err := httpclient.ReadBody(resp.Body, httpclient.LimitRecords, "dynamics: batch response: embedded body")
	if err != nil {
		return opResponse{}, err
	}
	cid, _ := strconv.Atoi(strings.TrimSpace(h.Get("Content-ID")))
	if cid == 0 {
		cid, _ = strconv.Atoi(strings.TrimSpace(resp.Header.Get("Content-ID")))
	}
	return opResponse{status: resp.StatusCode, header: resp.Header, body: bytes.TrimRight(b, "\r\n"), cid: cid}, nil
}
