package iamlocal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The XML namespaces of the two Query APIs served.
const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// apiError is an IAM error as it goes on the wire: a code, a message, the
// HTTP status and the Sender/Receiver type.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorStatus is the HTTP status IAM answers with for each error code; a
// code not listed is a 400 from the sender.
var errorStatus = map[string]int{
	"EntityAlreadyExists":        http.StatusConflict,
	"LimitExceeded":              http.StatusConflict,
	"DeleteConflict":             http.StatusConflict,
	"ConcurrentModification":     http.StatusConflict,
	"NoSuchEntity":               http.StatusNotFound,
	"ServiceFailure":             http.StatusInternalServerError,
	"ServiceUnavailable":         http.StatusServiceUnavailable,
	"MissingAuthenticationToken": http.StatusForbidden,
	"AccessDenied":               http.StatusForbidden,
	"InvalidClientTokenId":       http.StatusForbidden,
	"ExpiredToken":               http.StatusForbidden,
	"RequestEntityTooLarge":      http.StatusRequestEntityTooLarge,
}

func newError(code, format string, args ...any) *apiError {
	status, ok := errorStatus[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func noSuchEntity(format string, args ...any) *apiError {
	return newError("NoSuchEntity", format, args...)
}

func invalidInput(format string, args ...any) *apiError {
	return newError("InvalidInput", format, args...)
}

func limitExceeded(format string, args ...any) *apiError {
	return newError("LimitExceeded", format, args...)
}

func deleteConflict(format string, args ...any) *apiError {
	return newError("DeleteConflict", format, args...)
}

// validationError words a model constraint violation the way AWS does.
func validationError(value, field, constraint string) *apiError {
	v := "'" + value + "'"
	if value == "\x00" {
		v = "null"
	}
	return newError("ValidationError",
		"1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", v, field, constraint)
}

func (e *apiError) errType() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeResult writes <ActionResponse><ActionResult>result</ActionResult>
// <ResponseMetadata/></ActionResponse>; a nil result sends only the metadata,
// as IAM does for actions without output.
func writeResult(w http.ResponseWriter, namespace, action string, result any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}}
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
	}
	meta := responseMetadata{RequestID: requestID()}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// writeError writes IAM's <ErrorResponse> with the error's status.
func writeError(w http.ResponseWriter, namespace string, e *apiError) {
	resp := xmlErrorResponse{Xmlns: namespace, RequestID: requestID()}
	resp.Error.Type = e.errType()
	resp.Error.Code = e.Code
	resp.Error.Message = e.Message
	body, err := xml.Marshal(resp)
	if err != nil {
		// The struct holds only strings; Marshal cannot fail on it.
		body = []byte("<ErrorResponse/>")
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// requestID returns a random UUID (version 4) as AWS request IDs look.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// percentEncode encodes s as IAM encodes policy documents in responses:
// RFC 3986, every byte but the unreserved characters escaped, space as %20.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// isoTime is the timestamp format of IAM responses.
const isoTime = "2006-01-02T15:04:05Z"
