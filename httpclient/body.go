package httpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Response body limits, by kind of answer. A body past its limit is an
// error, never a partial read taken for the whole.
const (
	// LimitError caps an error answer (kept for its message).
	LimitError int64 = 64 << 10
	// LimitToken caps an OAuth token or discovery answer.
	LimitToken int64 = 1 << 20
	// LimitMetadata caps a schema or metadata answer (field lists,
	// describe calls).
	LimitMetadata int64 = 16 << 20
	// LimitRecords caps one page or batch of records (a Dataverse $batch,
	// a Salesforce composite answer, a Zoho COQL page, an Enreach list).
	LimitRecords int64 = 64 << 20
)

// ErrBodyTooLarge is wrapped by the error of a read past its limit.
var ErrBodyTooLarge = errors.New("response body too large")

// BodyTooLargeError says which answer passed which limit.
type BodyTooLargeError struct {
	What  string
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("%s: response body larger than the %d-byte limit", e.What, e.Limit)
}

// Unwrap makes errors.Is(err, ErrBodyTooLarge) true.
func (e *BodyTooLargeError) Unwrap() error { return ErrBodyTooLarge }

// ReadBody reads all of r, up to limit bytes. A longer body is a
// *BodyTooLargeError naming what and the limit; nothing is returned then.
func ReadBody(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading response body: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, &BodyTooLargeError{What: what, Limit: limit}
	}
	return b, nil
}

// ReadResponse is ReadBody for an HTTP response's body. When the response
// says its length (ContentLength, within limit) the body is read into one
// buffer of that size instead of one grown while reading, which copied a
// 50 KB $batch answer through buffers of about twice its size in all.
func ReadResponse(resp *http.Response, limit int64, what string) ([]byte, error) {
	size := resp.ContentLength
	if size < 0 || size > limit {
		return ReadBody(resp.Body, limit, what)
	}
	// ReadFrom wants bytes.MinRead bytes free before each read, the one
	// that meets EOF included.
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: reading response body: %w", what, err)
	}
	if int64(buf.Len()) > limit {
		return nil, &BodyTooLargeError{What: what, Limit: limit}
	}
	return buf.Bytes(), nil
}

// LimitBody wraps r for a streaming decoder: reads past limit bytes fail
// with a *BodyTooLargeError instead of returning more data.
func LimitBody(r io.Reader, limit int64, what string) io.Reader {
	return &limited{r: r, left: limit, err: &BodyTooLargeError{What: what, Limit: limit}}
}

type limited struct {
	r    io.Reader
	left int64
	err  *BodyTooLargeError
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly limit bytes from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, l.err
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
