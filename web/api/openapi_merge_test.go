package api

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestOpenAPIFilesMergeIntoOneDocument: the document's files merge map by
// map, and a path or schema two files both define is refused rather than
// one silently replacing the other.
func TestOpenAPIFilesMergeIntoOneDocument(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"openapi/a.yaml": {Data: []byte("openapi: 3.1.0\npaths:\n  /x:\n    get: {summary: x}\n")},
		"openapi/b.yaml": {Data: []byte("paths:\n  /y:\n    get: {summary: y}\n")},
	}
	d, err := parseOpenAPI(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Operations(), ", "); got != "GET /x, GET /y" {
		t.Errorf("operations %q, want both files' paths", got)
	}
	files["openapi/c.yaml"] = &fstest.MapFile{Data: []byte("paths:\n  /x:\n    get: {summary: again}\n")}
	if _, err := parseOpenAPI(files); err == nil || !strings.Contains(err.Error(), "openapi/c.yaml: /x in paths is defined twice") {
		t.Errorf("a path defined in two files: %v", err)
	}
	delete(files, "openapi/c.yaml")
	files["openapi/d.yaml"] = &fstest.MapFile{Data: []byte("components:\n  schemas:\n    A: {type: string}\n")}
	files["openapi/e.yaml"] = &fstest.MapFile{Data: []byte("components:\n  schemas:\n    B: {type: string}\n")}
	if _, err := parseOpenAPI(files); err != nil {
		t.Errorf("two files of schemas: %v", err)
	}
	files["openapi/f.yaml"] = &fstest.MapFile{Data: []byte("components:\n  schemas:\n    A: {type: integer}\n")}
	if _, err := parseOpenAPI(files); err == nil || !strings.Contains(err.Error(), "openapi/f.yaml: A in components.schemas is defined twice") {
		t.Errorf("a schema defined in two files: %v", err)
	}
	if d := OpenAPI(); len(d.Operations()) < 20 || d.tree["components"].(map[string]any)["schemas"] == nil {
		t.Errorf("the embedded document lost its parts: %d operations", len(d.Operations()))
	}
}
