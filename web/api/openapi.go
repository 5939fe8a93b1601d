package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// openapiFiles hold the API's contract, written by hand: the single
// source of truth the handlers follow and the tests hold them to. It is
// one document in several files (the header, the paths by area, the
// shared components, the schemas), merged by mergeYAML.
//
//go:embed openapi/*.yaml
var openapiFiles embed.FS

// Doc is the document, parsed once, as JSON and as the model of
// the reference page generated from it.
type Doc struct {
	JSON []byte
	// Ref is the document flattened for the reference page.
	Ref  Reference
	tree map[string]any
}

// OpenAPI parses the embedded document; it panics on a malformed one,
// which the tests catch long before a release could.
func OpenAPI() *Doc {
	d, err := parseOpenAPI(openapiFiles)
	if err != nil {
		panic(err)
	}
	return d
}

// parseOpenAPI merges the files of the document, in the order of their
// names, into one tree.
func parseOpenAPI(files fs.FS) (*Doc, error) {
	names, err := fs.Glob(files, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	tree := map[string]any{}
	for _, name := range names {
		src, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := yaml.Unmarshal(src, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := mergeYAML(tree, part, ""); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	js, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document as JSON: %w", err)
	}
	d := &Doc{JSON: js, tree: tree}
	d.Ref = d.reference()
	return d, nil
}

// mergeYAML adds part to tree: the document's sections (paths,
// components) and the kinds of component (schemas, responses, ...) are
// merged key by key; an entry of one of them that two files both define
// (a path, a schema) is an error, never one file's replacing the other's.
func mergeYAML(tree, part map[string]any, section string) error {
	for k, v := range part {
		old, ok := tree[k]
		if !ok {
			tree[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 || section != "" && section != "components" {
			if section == "" {
				return fmt.Errorf("%s is defined twice", k)
			}
			return fmt.Errorf("%s in %s is defined twice", k, section)
		}
		if err := mergeYAML(om, vm, strings.TrimPrefix(section+"."+k, ".")); err != nil {
			return err
		}
	}
	return nil
}

// Operations lists every method and path the document defines, as
// "GET /api/v1/requests/{id}".
func (d *Doc) Operations() []string {
	var out []string
	for _, op := range d.Ref.Operations {
		out = append(out, op.Method+" "+op.Path)
	}
	return out
}

// Operation is one method and path of the document, for the reference page.
type Operation struct {
	ID, Method, Path, Summary, Description, Tag, Body string
	Params                                            []Param
	Responses                                         []Response
}

// Param is one parameter of an operation.
type Param struct{ Name, In, Type, Description string }

// Response is one documented answer of an operation.
type Response struct{ Status, Description string }

// Reference is the document flattened for the reference page.
type Reference struct {
	Title, Version, Description string
	// Tags are the document's tags in its order, each with its operations.
	Tags       []Tag
	Operations []Operation
	Schemas    []Schema
}

// Tag groups operations under one of the document's tags.
type Tag struct {
	Name, Description string
	Operations        []Operation
}

// Schema is one component schema, as indented JSON.
type Schema struct {
	Name string
	JSON string
}

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

// reference flattens the document for the page: one entry per operation
// with its parameters and responses, then every schema as JSON.
func (d *Doc) reference() Reference {
	info, _ := d.tree["info"].(map[string]any)
	page := Reference{Title: str(info["title"]), Version: str(info["version"]), Description: str(info["description"])}
	comps, _ := d.tree["components"].(map[string]any)
	paths, _ := d.tree["paths"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, raw := range ops {
			op, ok := raw.(map[string]any)
			if _, known := methodOrder[method]; !ok || !known {
				continue
			}
			ro := Operation{ID: str(op["operationId"]), Method: strings.ToUpper(method), Path: path,
				Summary: str(op["summary"]), Description: str(op["description"])}
			if tags, _ := op["tags"].([]any); len(tags) > 0 {
				ro.Tag = str(tags[0])
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := resolve(comps, p)
				schema, _ := pm["schema"].(map[string]any)
				ro.Params = append(ro.Params, Param{Name: str(pm["name"]), In: str(pm["in"]),
					Type: schemaType(schema), Description: str(pm["description"])})
			}
			if body := resolve(comps, op["requestBody"]); body != nil {
				content, _ := body["content"].(map[string]any)
				for ct, m := range content {
					media, _ := m.(map[string]any)
					schema, _ := media["schema"].(map[string]any)
					ro.Body = ct + ": " + schemaType(schema)
				}
			}
			resps, _ := op["responses"].(map[string]any)
			for status, r := range resps {
				ro.Responses = append(ro.Responses, Response{Status: status, Description: str(resolve(comps, r)["description"])})
			}
			sort.Slice(ro.Responses, func(i, j int) bool { return ro.Responses[i].Status < ro.Responses[j].Status })
			page.Operations = append(page.Operations, ro)
		}
	}
	sort.Slice(page.Operations, func(i, j int) bool {
		a, b := page.Operations[i], page.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return methodOrder[strings.ToLower(a.Method)] < methodOrder[strings.ToLower(b.Method)]
	})
	tags, _ := d.tree["tags"].([]any)
	for _, t := range tags {
		tm, _ := t.(map[string]any)
		page.Tags = append(page.Tags, Tag{Name: str(tm["name"]), Description: str(tm["description"])})
	}
	for _, op := range page.Operations {
		i := slices.IndexFunc(page.Tags, func(t Tag) bool { return t.Name == op.Tag })
		if i < 0 {
			page.Tags = append(page.Tags, Tag{Name: op.Tag})
			i = len(page.Tags) - 1
		}
		page.Tags[i].Operations = append(page.Tags[i].Operations, op)
	}
	schemas, _ := comps["schemas"].(map[string]any)
	for name, s := range schemas {
		js, _ := json.MarshalIndent(s, "", "  ")
		page.Schemas = append(page.Schemas, Schema{Name: name, JSON: string(js)})
	}
	sort.Slice(page.Schemas, func(i, j int) bool { return page.Schemas[i].Name < page.Schemas[j].Name })
	return page
}

// resolve follows a local $ref ("#/components/parameters/ID").
func resolve(comps map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	ref, ok := m["$ref"].(string)
	if !ok {
		return m
	}
	parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
	if len(parts) != 2 {
		return m
	}
	kind, _ := comps[parts[0]].(map[string]any)
	out, _ := kind[parts[1]].(map[string]any)
	return out
}

func schemaType(s map[string]any) string {
	if ref, ok := s["$ref"].(string); ok {
		return ref[strings.LastIndex(ref, "/")+1:]
	}
	if t, ok := s["type"].(string); ok {
		return t
	}
	return "object"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func handleOpenAPIJSON(d *Doc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, d.JSON)
	}
}
