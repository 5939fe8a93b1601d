package iamlocal_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// knownStatuses are the HTTP statuses the endpoint answers with.
var knownStatuses = []int{200, 400, 403, 404, 409, 413, 500, 503}

const fuzzAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00"

// FuzzRequestParsing sends arbitrary query strings and form bodies, signed
// or not, to an endpoint holding one role and one instance profile. It never
// panics; every answer is one well-formed XML document with a known status:
// <ActionResponse> with 200, or <ErrorResponse> with a code and the type
// matching the status; and the endpoint still answers afterwards.
func FuzzRequestParsing(f *testing.F) {
	f.Add(true, "", []byte("Action=GetRole&RoleName=seed&Version=2010-05-08"))
	f.Add(true, "", []byte("Action=ListRoles&MaxItems=1&Version=2010-05-08"))
	f.Add(true, "Action=ListRoles", []byte(""))
	f.Add(true, "", []byte("Action=CreateRole&RoleName=a&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v"))
	f.Add(true, "", []byte("Action=PutRolePolicy&RoleName=seed&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%7D"))
	f.Add(true, "", []byte("Action=AddRoleToInstanceProfile&InstanceProfileName=seed&RoleName=seed"))
	f.Add(true, "", []byte("Action=TagRole&RoleName=seed&Tags.member.999999999999.Key=x"))
	f.Add(true, "", []byte("Action=ListRoles&Marker=%ZZ"))
	f.Add(true, "", []byte("Action=GetCallerIdentity&Version=2011-06-15"))
	f.Add(true, "", []byte("Action=Frobnicate"))
	f.Add(true, "", []byte("Action=GetRole&RoleName=%00%FF%FE<>&amp;"))
	f.Add(false, "", []byte("Action=ListRoles"))
	f.Add(true, "", bytes.Repeat([]byte("A"), 5000))
	f.Fuzz(func(t *testing.T, signed bool, query string, body []byte) {
		srv, err := iamlocal.New(iamlocal.Options{MaxBodyBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		for _, seed := range []string{
			"Action=CreateRole&RoleName=seed&Path=%2Frolegate%2F&AssumeRolePolicyDocument=" + url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
			"Action=CreateInstanceProfile&InstanceProfileName=seed",
		} {
			if status, _, err := send(srv, true, "", []byte(seed)); err != nil || status != 200 {
				t.Fatalf("seeding the endpoint: %d %v", status, err)
			}
		}
		status, root, err := send(srv, signed, query, body)
		if err != nil {
			t.Fatalf("status %d: %v", status, err)
		}
		if status == 200 && (root == "ErrorResponse" || !strings.HasSuffix(root, "Response")) {
			t.Fatalf("200 with root <%s>", root)
		}
		if status != 200 && root != "ErrorResponse" {
			t.Fatalf("%d with root <%s>, want <ErrorResponse>", status, root)
		}
		if status, root, err := send(srv, true, "", []byte("Action=ListRoles")); err != nil || status != 200 || root != "ListRolesResponse" {
			t.Fatalf("the endpoint no longer answers: %d <%s> %v", status, root, err)
		}
	})
}

// send posts one request to srv and checks the answer's envelope: a known
// status, text/xml, one well-formed document; for errors a code and a type
// that matches the status. It returns the status and the root element.
func send(srv *iamlocal.Server, signed bool, query string, body []byte) (int, string, error) {
	req := &http.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/", RawQuery: query}, Host: "iam.local",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body:   io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	if signed {
		req.Header.Set("Authorization", fuzzAuth)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	status := rec.Code
	if !slices.Contains(knownStatuses, status) {
		return status, "", errors.New("unknown status")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/xml" {
		return status, "", errors.New("Content-Type " + ct)
	}
	root, errResp, err := parseDocument(rec.Body.Bytes())
	if err != nil {
		return status, root, errors.New(err.Error() + "\n" + rec.Body.String())
	}
	if root == "ErrorResponse" {
		if errResp.Error.Code == "" || errResp.Error.Message == "" {
			return status, root, errors.New("error without code or message:\n" + rec.Body.String())
		}
		if wantType := map[bool]string{true: "Receiver", false: "Sender"}[status >= 500]; errResp.Error.Type != wantType {
			return status, root, errors.New("error type " + errResp.Error.Type + " for the status:\n" + rec.Body.String())
		}
	}
	return status, root, nil
}

type fuzzErrorResponse struct {
	Error struct{ Type, Code, Message string }
}

// parseDocument checks that b is one well-formed XML document (strict
// parsing, matching tags, legal characters, one root) and returns its root
// element name, and the error fields when the root is ErrorResponse.
func parseDocument(b []byte) (string, fuzzErrorResponse, error) {
	var er fuzzErrorResponse
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	root := ""
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, er, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					return root, er, errors.New("more than one root element")
				}
				root = el.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(el)) > 0 {
				return root, er, errors.New("text outside the root element")
			}
		}
	}
	if root == "" || depth != 0 {
		return root, er, errors.New("no complete root element")
	}
	if root == "ErrorResponse" {
		if err := xml.Unmarshal(b, &er); err != nil {
			return root, er, err
		}
	}
	return root, er, nil
}
