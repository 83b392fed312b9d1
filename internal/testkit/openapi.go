package testkit

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/condcache/condcache/docs"
)

// OpenAPIOperations returns the operations of docs/openapi.yaml as
// "METHOD /path/{param}" (docs/design.md "OpenAPI document"), for the
// servers' tests that every route they register is documented.
func OpenAPIOperations() (map[string]bool, error) {
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &doc); err != nil {
		return nil, err
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			ops[strings.ToUpper(method)+" "+path] = true
		}
	}
	return ops, nil
}

var routerParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*):[^}]*\}`)

// TemplatePath turns a fasthttp/router pattern into an OpenAPI path
// template: "{id:[0-9]+}" becomes "{id}".
func TemplatePath(pattern string) string {
	return routerParam.ReplaceAllString(pattern, "{$1}")
}
