package concord_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Go snippets are fragments: each is compiled as the body of a function whose
// parameters are the names it uses but does not declare (ctx, key, err, c, store, row, handle).
// `//line` directives make a compile error point at the README's own line.

var (
	goBlock    = regexp.MustCompile("(?s)```go\n(.*?)```")
	topDeclare = regexp.MustCompile(`(?m)^([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*) *:=`)
	// the standard packages a snippet may use, by the pattern of their use
	stdImports = map[string]*regexp.Regexp{}
)

func init() {
	for _, pkg := range []string{"errors", "fmt", "log", "time"} {
		stdImports[pkg] = regexp.MustCompile(`\b` + pkg + `\.`)
	}
}

// readmeFree are the names a snippet may use without declaring them, as parameters.
var readmeFree = [][2]string{
	{"ctx", "context.Context"},
	{"key", "string"},
	{"err", "error"},
	{"c", "*concord.Client"},
	{"store", "exampleStore"},
	{"row", "any"},
	{"handle", "func(concord.RecordedEvent)"},
}

const readmeShared = `package main

import "context"

// exampleStore is the README's storage that takes fencing tokens.
type exampleStore interface {
	Write(ctx context.Context, row any, fencingToken int64) error
}

func main() {}
`

func TestReadmeGoSnippetsCompile(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module readmecheck\n\ngo 1.26.0\n")
	write("go.work", fmt.Sprintf("go 1.26.0\n\nuse (\n\t.\n\t%q\n\t%q\n)\n\nreplace github.com/concordhq/concord/sdks/go v0.1.0 => %q\n",
		here, filepath.Join(here, "grpc"), here))
	write("shared.go", readmeShared)
	blocks := goBlock.FindAllSubmatchIndex(readme, -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d Go snippets in README.md", len(blocks))
	}
	for i, b := range blocks {
		line := 1 + strings.Count(string(readme[:b[2]]), "\n")
		write(fmt.Sprintf("snippet%d.go", i), snippetProgram(i, line, string(readme[b[2]:b[3]])))
	}
	build := exec.Command(goTool, "build", "-o", os.DevNull, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("README.md's Go snippets do not compile:\n%s", out)
	}
}

// snippetProgram wraps the snippet that starts at README line `line` in a function of its own.
func snippetProgram(i, line int, body string) string {
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "import ") {
			l = "" // the function's file imports what it needs
		}
		lines = append(lines, l)
	}
	body = strings.Join(lines, "\n")
	declared := map[string]bool{}
	for _, m := range topDeclare.FindAllStringSubmatch(body, -1) {
		for _, name := range strings.Split(m[1], ",") {
			declared[strings.TrimSpace(name)] = true
		}
	}
	var params, uses []string
	for _, p := range readmeFree {
		if !declared[p[0]] {
			params = append(params, p[0]+" "+p[1])
		}
	}
	for name := range declared {
		if name != "_" {
			uses = append(uses, "_ = "+name) // a snippet may declare what it shows, not use it
		}
	}
	imports := []string{`"context"`, `concord "github.com/concordhq/concord/sdks/go"`}
	if strings.Contains(body, "concordgrpc.") {
		imports = append(imports, `concordgrpc "github.com/concordhq/concord/sdks/go/grpc"`)
	}
	for pkg, use := range stdImports {
		if use.MatchString(body) {
			imports = append(imports, fmt.Sprintf("%q", pkg))
		}
	}
	return fmt.Sprintf("package main\n\nimport (\n\t%s\n)\n\nvar _, _ = context.Background, concord.NewClient\n\nfunc snippet%d(%s) error {\n//line README.md:%d\n%s\n\t%s\n\treturn nil\n}\n",
		strings.Join(imports, "\n\t"), i, strings.Join(params, ", "), line, body, strings.Join(uses, "; "))
}
