// Command k8sschemas generates the Kubernetes JSON schemas kubeconform
// validates the chart's manifests against, offline: from the OpenAPI
// document of a Kubernetes release (api/openapi-spec/swagger.json of the
// k8s.io/kubernetes Go module, which .ci/helm downloads through the module
// proxy like any module), as openapi2jsonschema does for kubeconform's own
// schema repository: one standalone, strict file per kind and version
// (every $ref inlined; objects refuse unknown fields; int-or-string and
// quantities take strings or numbers; every value may be null, as Helm
// writes empty values).
//
//	k8sschemas -swagger .../swagger.json -out DIR
//
// Files are named as kubeconform looks them up with
// -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json', e.g.
// deployment-apps-v1.json, service-v1.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

type gvk struct{ Group, Version, Kind string }

func main() {
	swagger := flag.String("swagger", "", "the Kubernetes OpenAPI v2 document (swagger.json)")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	b, err := os.ReadFile(*swagger)
	if err != nil {
		log.Fatal(err)
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	n := 0
	for name, def := range doc.Definitions {
		raw, ok := def["x-kubernetes-group-version-kind"].([]any)
		if !ok {
			continue
		}
		schema := inline(doc.Definitions, def, map[string]bool{name: true})
		for _, g := range raw {
			m := g.(map[string]any)
			k := gvk{m["group"].(string), m["version"].(string), m["kind"].(string)}
			suffix := "-" + k.Version
			if k.Group != "" {
				suffix = "-" + strings.Split(k.Group, ".")[0] + suffix
			}
			file := filepath.Join(*out, strings.ToLower(k.Kind+suffix)+".json")
			data, err := json.Marshal(schema)
			if err != nil {
				log.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				log.Fatal(err)
			}
			n++
		}
	}
	fmt.Printf("k8sschemas: %d schemas in %s\n", n, *out)
}

// inline returns s with every $ref replaced by the definition it names
// (a definition that refers to itself, as CRD schemas do, becomes {}),
// made strict and nullable.
func inline(defs map[string]map[string]any, s map[string]any, seen map[string]bool) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		if name == "io.k8s.apimachinery.pkg.api.resource.Quantity" {
			return map[string]any{"oneOf": []any{map[string]any{"type": []any{"string", "null"}}, map[string]any{"type": "number"}}}
		}
		if seen[name] {
			return map[string]any{}
		}
		seen[name] = true
		defer delete(seen, name)
		return inline(defs, defs[name], seen)
	}
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "x-kubernetes-group-version-kind", "description":
			continue
		case "properties":
			props := map[string]any{}
			for pk, pv := range v.(map[string]any) {
				props[pk] = inline(defs, pv.(map[string]any), seen)
			}
			out[k] = props
		case "items":
			if m, ok := v.(map[string]any); ok {
				out[k] = inline(defs, m, seen)
			} else {
				out[k] = v
			}
		case "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				out[k] = inline(defs, m, seen)
			} else {
				out[k] = v
			}
		default:
			out[k] = v
		}
	}
	if f, _ := out["format"].(string); f == "int-or-string" {
		return map[string]any{"oneOf": []any{map[string]any{"type": []any{"string", "null"}}, map[string]any{"type": "integer"}}}
	}
	if _, ok := out["properties"]; ok {
		if _, set := out["additionalProperties"]; !set {
			out["additionalProperties"] = false
		}
	}
	if t, ok := out["type"].(string); ok {
		out["type"] = []any{t, "null"}
	}
	return out
}
