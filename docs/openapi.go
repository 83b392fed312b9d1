// Package docs embeds the project's machine-readable contract: the OpenAPI
// document of both APIs (docs/design.md "OpenAPI document"), authored here
// as YAML beside the Markdown that explains it, so that the binary serves
// exactly the file reviewers read.
package docs

import _ "embed"

// OpenAPIYAML is openapi.yaml, as committed.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
