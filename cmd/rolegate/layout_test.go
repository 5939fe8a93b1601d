package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestImportsFollowTheLayoutDrawing holds README.md's layout drawing to
// the code: every package the drawing gives an arrow (or "imports nothing
// of rolegate") imports exactly the rolegate packages it names, and every
// package of the module that is not a test helper is in the drawing. A
// new import across the drawing's lines fails here until the drawing says
// so, where a newcomer reads it.
func TestImportsFollowTheLayoutDrawing(t *testing.T) {
	t.Parallel()
	drawn := layoutDrawing(t)
	actual := moduleImports(t)
	for pkg, imports := range actual {
		if strings.HasSuffix(pkg, "test") || pkg == "cmd/rolegate" {
			continue // test helpers, and the wiring that imports everything
		}
		want, ok := drawn[pkg]
		if !ok {
			t.Errorf("package %s is not in README.md's layout drawing", pkg)
			continue
		}
		if !slices.Equal(imports, want) {
			t.Errorf("%s imports %v; README.md's layout drawing says %v", pkg, imports, want)
		}
	}
	for pkg := range drawn {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("README.md's layout drawing names %s, which is not a package of the module", pkg)
		}
	}
}

// layoutDrawing reads the drawing in README.md's "## Layout" section: a
// package per line, its rolegate imports after "→" (on the line or the
// next), or none for "imports nothing of rolegate".
func layoutDrawing(t *testing.T) map[string][]string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	_, block, ok := strings.Cut(section, "```\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README.md's layout section has no drawing")
	}
	pkgRE := regexp.MustCompile(`^[│├└─\s]*((?:cmd|web|store|provision|migrations)[a-z/]*)\s`)
	drawn := map[string][]string{}
	var current string
	for line := range strings.SplitSeq(block, "\n") {
		if m := pkgRE.FindStringSubmatch(line + " "); m != nil {
			current = m[1]
		}
		switch {
		case strings.Contains(line, "imports nothing of rolegate"):
			drawn[current] = nil
		case strings.Contains(line, "→"):
			_, list, _ := strings.Cut(line, "→")
			for imp := range strings.SplitSeq(list, ",") {
				drawn[current] = append(drawn[current], strings.TrimSpace(imp))
			}
			slices.Sort(drawn[current])
		}
	}
	if len(drawn) < 5 {
		t.Fatalf("README.md's layout drawing names %d packages with their imports; the parser lost it:\n%s", len(drawn), block)
	}
	return drawn
}

// moduleImports is each package of the module (as a path inside it) with
// the module's packages it imports, sorted, from go list.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	const module = "github.com/rolegate/rolegate/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		pkgs[pkg] = []string{}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) {
				pkgs[pkg] = append(pkgs[pkg], strings.TrimPrefix(imp, module))
			}
		}
		slices.Sort(pkgs[pkg])
	}
	return pkgs
}
