package double

import (
	"bytes"
	"io"
	"net/http"
)

// ReadBody reads a request's whole body as io.ReadAll does, into one
// buffer sized from the request's Content-Length when it gives one: a
// large body (a $batch, a record collection) is then not copied into ever
// larger buffers on its way in, garbage a benchmark's doubles would
// otherwise collect on the cores the client under test uses.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 {
		return io.ReadAll(r.Body)
	}
	// ReadFrom wants bytes.MinRead bytes free before each read, the one
	// that meets EOF included.
	buf := bytes.NewBuffer(make([]byte, 0, r.ContentLength+bytes.MinRead))
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}

// ReadBodyInto is ReadBody into buf, which it empties first: a double
// that keeps nothing of a body past its request (what it keeps it copies)
// reads every request into buffers it reuses, instead of a new one per
// request. The bytes returned are buf's, valid until buf is used again.
func ReadBodyInto(buf *bytes.Buffer, r *http.Request) ([]byte, error) {
	buf.Reset()
	if r.ContentLength >= 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}
