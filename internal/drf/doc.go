// Package drf is Django REST framework-compatible request decoding: it reads
// requests the way the reference's Django views and DRF serializers do
// (docs/compatibility.md "Conventions"), with DRF's messages, so that
// clients and scripts written against Nopayloaddb read the same errors.
//
//   - Bodies: ReadJSON and CheckJSON (well-formed JSON in UTF-8, else DRF's
//     "JSON parse error - …" or 415), ReadObject and ParseObject (a JSON
//     object, validated field by field through Object with StringRule and
//     IntRule, every bad field reported at once as FieldErrors),
//     EachElement (the elements of a JSON array), ParseJSONInt, PythonType,
//     NonFieldError and the messages (MsgRequired, …).
//   - Path and query parameters: PathParam and TextParam (percent-decoded,
//     as Django routes), LastQueryArg (the last of repeated parameters, as
//     QueryDict.get), ParseInt and CheckText.
//
// Errors are *condcache.Error with code invalid (or unsupported_media_type);
// answering them is internal/api's job.
package drf
