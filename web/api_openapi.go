package web

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// openapiYAML is the API's contract, written by hand: the single source of
// truth the handlers follow and the tests hold them to.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openAPIDoc is the document, parsed once, as JSON and as the reference
// page generated from it.
type openAPIDoc struct {
	JSON []byte
	HTML []byte
	tree map[string]any
}

// mustOpenAPI parses the embedded document; it panics on a malformed one,
// which the tests catch long before a release could.
func mustOpenAPI() *openAPIDoc {
	d, err := parseOpenAPI(openapiYAML)
	if err != nil {
		panic(err)
	}
	return d
}

func parseOpenAPI(src []byte) (*openAPIDoc, error) {
	var tree map[string]any
	if err := yaml.Unmarshal(src, &tree); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	js, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	d := &openAPIDoc{JSON: js, tree: tree}
	var buf bytes.Buffer
	if err := referenceTmpl.Execute(&buf, d.reference()); err != nil {
		return nil, fmt.Errorf("API reference page: %w", err)
	}
	d.HTML = buf.Bytes()
	return d, nil
}

// operations lists every method and path the document defines, as
// "GET /api/v1/requests/{id}".
func (d *openAPIDoc) operations() []string {
	var out []string
	for _, op := range d.reference().Operations {
		out = append(out, op.Method+" "+op.Path)
	}
	return out
}

type refOperation struct {
	Method, Path, Summary, Tag, Body string
	Params                           []refParam
	Responses                        []refResponse
}

type refParam struct{ Name, In, Type, Description string }

type refResponse struct{ Status, Description string }

type refPage struct {
	Title, Description string
	Operations         []refOperation
	Schemas            []refSchema
}

type refSchema struct {
	Name string
	JSON string
}

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

// reference flattens the document for the page: one entry per operation
// with its parameters and responses, then every schema as JSON.
func (d *openAPIDoc) reference() refPage {
	info, _ := d.tree["info"].(map[string]any)
	page := refPage{Title: str(info["title"]), Description: str(info["description"])}
	comps, _ := d.tree["components"].(map[string]any)
	paths, _ := d.tree["paths"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, raw := range ops {
			op, ok := raw.(map[string]any)
			if _, known := methodOrder[method]; !ok || !known {
				continue
			}
			ro := refOperation{Method: strings.ToUpper(method), Path: path, Summary: str(op["summary"])}
			if tags, _ := op["tags"].([]any); len(tags) > 0 {
				ro.Tag = str(tags[0])
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := resolve(comps, p)
				schema, _ := pm["schema"].(map[string]any)
				ro.Params = append(ro.Params, refParam{Name: str(pm["name"]), In: str(pm["in"]),
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
				ro.Responses = append(ro.Responses, refResponse{Status: status, Description: str(resolve(comps, r)["description"])})
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
	schemas, _ := comps["schemas"].(map[string]any)
	for name, s := range schemas {
		js, _ := json.MarshalIndent(s, "", "  ")
		page.Schemas = append(page.Schemas, refSchema{Name: name, JSON: string(js)})
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

var referenceTmpl = template.Must(template.New("ref").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} reference</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<main class="api-reference">
<h1>{{.Title}}</h1>
<p><a href="/api/openapi.json">OpenAPI 3.1 document (JSON)</a></p>
<pre class="api-intro">{{.Description}}</pre>
<h2>Operations</h2>
<ul>{{range .Operations}}<li><a href="#{{.Method}}{{.Path}}"><code>{{.Method}} {{.Path}}</code></a> — {{.Summary}}</li>{{end}}</ul>
{{range .Operations}}
<section id="{{.Method}}{{.Path}}">
<h3><code>{{.Method}} {{.Path}}</code></h3>
<p>{{.Summary}}</p>
{{if .Params}}<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table>{{end}}
{{if .Body}}<p>Body: <code>{{.Body}}</code></p>{{end}}
<table><thead><tr><th>Status</th><th>Meaning</th></tr></thead><tbody>
{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table>
</section>
{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<section id="schema-{{.Name}}"><h3>{{.Name}}</h3><pre>{{.JSON}}</pre></section>
{{end}}
</main>
</body>
</html>
`))

func handleOpenAPIJSON(d *openAPIDoc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, d.JSON)
	}
}

func handleAPIReference(d *openAPIDoc) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.HTMLBlob(http.StatusOK, d.HTML)
	}
}
