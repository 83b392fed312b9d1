package writer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/condcache/condcache"
	"github.com/condcache/condcache/internal/drf"
)

// decodeV2Body decodes the JSON object of a v2 write into v: the body must
// be application/json, well-formed, one object, with no field v does not
// know; a field of the wrong type names the field. condcache's own API has
// no reference behaviour to mirror, so it is strict.
func decodeV2Body(c *call, v any) error {
	body, err := drf.ReadJSON(c.req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] != '{' {
		return condcache.Errorf(condcache.EInvalid, "The body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return condcache.Errorf(condcache.EInvalid, "The body must be one JSON object.")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return condcache.FieldError(condcache.EInvalid, field, fmt.Sprintf("Must be %s, not a JSON %s.", jsonKind(te.Type.Kind().String()), te.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return condcache.Errorf(condcache.EInvalid, "Unknown field %s.", name)
	}
	return condcache.Errorf(condcache.EInvalid, "The body cannot be read: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go kind as the JSON its values are written in.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}
