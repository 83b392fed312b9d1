package api

import "github.com/valyala/fasthttp"

// Route is one endpoint of docs/compatibility.md "Routes": a handler name, its method, and the
// router patterns (relative to Prefix) of its legacy and alias paths.
type Route struct {
	Name   string
	Method string
	Paths  []string
}

// Path parameter patterns. Integers accept a sign where the reference could
// not (docs/compatibility.md "Delete an IOV") so negative IOVs can be addressed.
const (
	idParam = `{id:[0-9]+}`
	major   = `{major:-?[0-9]+}`
	minor   = `{minor:-?[0-9]+}`
	majorE  = `{major_end:-?[0-9]+}`
	minorE  = `{minor_end:-?[0-9]+}`
)

// Handler names, shared by the route table and the reader/writer servers.
const (
	GlobalTagStatuses     = "GlobalTagStatuses"
	CreateGlobalTagStatus = "CreateGlobalTagStatus"
	GlobalTagsFull        = "GlobalTagsFull"
	CreateGlobalTag       = "CreateGlobalTag"
	GlobalTagByID         = "GlobalTagByID"
	GlobalTagByName       = "GlobalTagByName"
	GlobalTags            = "GlobalTags"
	GlobalTagPayloadLists = "GlobalTagPayloadLists"
	CloneGlobalTag        = "CloneGlobalTag"
	ChangeGlobalTagStatus = "ChangeGlobalTagStatus"
	DeleteGlobalTag       = "DeleteGlobalTag"
	PayloadTypes          = "PayloadTypes"
	CreatePayloadType     = "CreatePayloadType"
	DeletePayloadType     = "DeletePayloadType"
	PayloadLists          = "PayloadLists"
	CreatePayloadList     = "CreatePayloadList"
	PayloadListByID       = "PayloadListByID"
	PayloadListByName     = "PayloadListByName"
	AttachPayloadList     = "AttachPayloadList"
	DeletePayloadList     = "DeletePayloadList"
	PayloadIOVs           = "PayloadIOVs"
	CreatePayloadIOV      = "CreatePayloadIOV"
	PayloadIOVByID        = "PayloadIOVByID"
	BulkCreatePayloadIOVs = "BulkCreatePayloadIOVs"
	AttachPayloadIOV      = "AttachPayloadIOV"
	Lookup                = "Lookup"
	DeleteOpenPayloadIOV  = "DeleteOpenPayloadIOV"
	DeletePayloadIOV      = "DeletePayloadIOV"
	Settings              = "Settings"
	Timeout               = "Timeout"
)

const (
	get  = fasthttp.MethodGet
	post = fasthttp.MethodPost
	put  = fasthttp.MethodPut
	del  = fasthttp.MethodDelete
)

// Routes is the whole API. The reader serves the GET routes and proxies the
// others to the writer; the writer serves the others.
var Routes = []Route{
	{GlobalTagStatuses, get, []string{"gtstatus", "global-tags/statuses"}},
	{CreateGlobalTagStatus, post, []string{"gtstatus", "global-tags/statuses"}},
	{GlobalTagsFull, get, []string{"gt"}},
	{CreateGlobalTag, post, []string{"gt"}},
	{GlobalTagByID, get, []string{"gt/" + idParam}},
	{GlobalTagByName, get, []string{"globalTag/{name}", "global-tags/{name}"}},
	{GlobalTags, get, []string{"globalTags", "global-tags"}},
	{GlobalTagPayloadLists, get, []string{"gtPayloadLists/{name}", "global-tags/{name}/payload-lists"}},
	{CloneGlobalTag, post, []string{"cloneGlobalTag/{src}/{dst}", "global-tags/{src}/clone/{dst}"}},
	{ChangeGlobalTagStatus, put, []string{"gt_change_status/{name}/{status}", "global-tags/{name}/change-status/{status}"}},
	{DeleteGlobalTag, del, []string{"deleteGlobalTag/{name}", "global-tags/{name}/delete"}},
	{PayloadTypes, get, []string{"pt", "payload-types"}},
	{CreatePayloadType, post, []string{"pt", "payload-types"}},
	{DeletePayloadType, del, []string{"deletePayloadType/{name}", "payload-types/{name}/delete"}},
	{PayloadLists, get, []string{"pl", "payload-lists"}},
	{CreatePayloadList, post, []string{"pl", "payload-lists"}},
	{PayloadListByID, get, []string{"pl/" + idParam, "payload-lists/" + idParam}},
	{PayloadListByName, get, []string{"payload-lists/by-name/{name}"}},
	{AttachPayloadList, put, []string{"pl_attach", "payload-lists/attach"}},
	{DeletePayloadList, del, []string{"deletePayloadList/{name}", "payload-lists/{name}/delete"}},
	{PayloadIOVs, get, []string{"piov", "payload-iovs"}},
	{CreatePayloadIOV, post, []string{"piov", "payload-iovs"}},
	{PayloadIOVByID, get, []string{"piov/" + idParam, "payload-iovs/" + idParam}},
	{BulkCreatePayloadIOVs, post, []string{"bulk_piov", "payload-iovs/bulk"}},
	{AttachPayloadIOV, put, []string{"piov_attach", "payload-iovs/attach"}},
	{Lookup, get, []string{"payloadiovs/", "payload-iovs/query/"}},
	{DeleteOpenPayloadIOV, del, []string{
		"deletePayloadIOV/{gt}/{pt}/" + major + "/" + minor,
		"payload-iovs/{gt}/{pt}/" + major + "/" + minor + "/delete"}},
	{DeletePayloadIOV, del, []string{
		"deletePayloadIOV/{gt}/{pt}/" + major + "/" + minor + "/" + majorE + "/" + minorE,
		"payload-iovs/{gt}/{pt}/" + major + "/" + minor + "/" + majorE + "/" + minorE + "/delete"}},
	{Settings, get, []string{"user_settings/{name}/", "settings/{name}/"}},
	{Timeout, get, []string{"timeout"}},
}

// WebApp is where the reference serves its web app, under Prefix; the
// readers redirect it to their web UI at /ui/ (docs/design.md "Web UI").
const WebApp = "web/"

// SlashRedirects are the slashed paths that the reference also reaches
// without the slash through a 301 (Django APPEND_SLASH, docs/compatibility.md "Conventions").
var SlashRedirects = []string{"payloadiovs", "payload-iovs/query", "user_settings/{name}", "settings/{name}"}
