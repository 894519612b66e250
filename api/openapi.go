package api

import (
	"encoding/json"
	"strings"

	"github.com/bookmygig/bookmygig/store"
)

// The OpenAPI document is written by hand (the operations below) plus one
// entry per Mount. A test compares it with router.Routes() both ways, so a
// new route without documentation, or a stale entry, fails the build.

type jsonObj = map[string]any

// operation is one documented route.
type operation struct {
	method, path string // gin syntax
	op           jsonObj
}

func ref(name string) jsonObj { return jsonObj{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema jsonObj) jsonObj {
	return jsonObj{"application/json": jsonObj{"schema": schema}}
}

func resp(desc string, schema jsonObj) jsonObj {
	r := jsonObj{"description": desc}
	if schema != nil {
		r["content"] = jsonContent(schema)
	}
	return r
}

func errResp(desc string) jsonObj { return resp(desc, ref("Error")) }

func queryParam(name, desc string, schema jsonObj) jsonObj {
	return jsonObj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

// openAPIPath turns gin's /api/gigs/:id (or /live/*file) into OpenAPI's
// /api/gigs/{id}, and returns the parameter names.
func openAPIPath(p string) (string, []string) {
	segs := strings.Split(p, "/")
	var names []string
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			names = append(names, s[1:])
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/"), names
}

func coreOperations() []operation {
	bearer := []any{jsonObj{"manageToken": []any{}}}
	authErrs := func(r jsonObj) jsonObj {
		r["401"] = errResp("missing manage token")
		r["403"] = errResp("wrong manage token")
		r["404"] = errResp("no such gig")
		r["503"] = errResp("storage unavailable")
		return r
	}
	body := func(schema string) jsonObj {
		return jsonObj{"required": true, "content": jsonContent(ref(schema))}
	}
	return []operation{
		{"GET", "/healthz", jsonObj{"summary": "Process is alive (always 200)", "tags": []any{"health"},
			"responses": jsonObj{"200": resp("alive", ref("Status"))}}},
		{"GET", "/readyz", jsonObj{"summary": "Storage engine is reachable", "tags": []any{"health"},
			"responses": jsonObj{"200": resp("ready", ref("Status")), "503": errResp("storage unavailable")}}},
		{"GET", "/api/openapi.json", jsonObj{"summary": "This document", "tags": []any{"meta"},
			"responses": jsonObj{"200": resp("OpenAPI 3.0 document", jsonObj{"type": "object"})}}},
		{"POST", "/api/gigs", jsonObj{"summary": "Create a gig; returns its stream key and manage token once",
			"tags": []any{"gigs"}, "requestBody": body("GigInput"),
			"responses": jsonObj{
				"201": resp("created; Location names the gig", ref("CreateResponse")),
				"400": errResp("invalid JSON, unknown field, or validation failure (field says which)"),
				"413": errResp("body over the size limit"),
				"415": errResp("Content-Type is not application/json"),
				"429": errResp("rate_limited: too many gigs created from this address (Retry-After)"),
				"503": errResp("storage unavailable"),
			}}},
		{"GET", "/api/gigs", jsonObj{"summary": "List gigs: live first, then by start time; cursor pagination",
			"tags": []any{"gigs"},
			"parameters": []any{
				queryParam("status", "only gigs with this status", ref("GigStatus")),
				queryParam("category", "only gigs in this category", ref("Category")),
				queryParam("from", "starts_at >= from (RFC 3339)", jsonObj{"type": "string", "format": "date-time"}),
				queryParam("to", "starts_at < to (RFC 3339)", jsonObj{"type": "string", "format": "date-time"}),
				queryParam("cursor", "next_cursor of the previous page", jsonObj{"type": "string"}),
				queryParam("limit", "page size", jsonObj{"type": "integer", "minimum": 1, "maximum": store.MaxPageSize, "default": store.DefaultPageSize}),
			},
			"responses": jsonObj{"200": resp("one page", ref("ListResponse")), "400": errResp("bad filter"), "503": errResp("storage unavailable")}}},
		{"GET", "/api/gigs/:id", jsonObj{"summary": "Get one gig", "tags": []any{"gigs"},
			"responses": jsonObj{"200": resp("the gig", ref("Gig")), "404": errResp("no such gig"), "503": errResp("storage unavailable")}}},
		{"PATCH", "/api/gigs/:id", jsonObj{"summary": "Change some fields of a gig (manage token)", "tags": []any{"gigs"},
			"security": bearer, "requestBody": body("GigPatch"),
			"responses": authErrs(jsonObj{"200": resp("the updated gig", ref("Gig")), "400": errResp("invalid input"),
				"409": errResp("concurrent change"), "413": errResp("body too large"), "415": errResp("wrong content type")})}},
		{"DELETE", "/api/gigs/:id", jsonObj{"summary": "Delete a gig (manage token)", "tags": []any{"gigs"},
			"security":  bearer,
			"responses": authErrs(jsonObj{"204": jsonObj{"description": "deleted"}, "409": errResp("the gig is live: end the show first")})}},
		{"POST", "/api/gigs/:id/stream-key", jsonObj{"summary": "Replace the stream key (manage token); the old key stops working and whoever is live with it is disconnected on every node",
			"tags": []any{"gigs"}, "security": bearer,
			"responses": authErrs(jsonObj{"200": resp("the new key, shown once", ref("StreamKeyResponse"))})}},
		{"POST", "/api/gigs/:id/end", jsonObj{"summary": "End the live show (manage token): the publisher is disconnected on every node and the gig becomes ended. The stream key keeps working, so the creator can go live again; rotate the key too if it leaked",
			"tags": []any{"gigs"}, "security": bearer,
			"responses": authErrs(jsonObj{"200": resp("the gig, ended (again 200 if it had already ended)", ref("Gig")),
				"409": errResp("not_live: the gig has not gone live")})}},
		{"GET", "/api/gigs/:id/stream", jsonObj{"summary": "Live stream details (codecs, playback URLs) while the gig is live",
			"tags":      []any{"gigs"},
			"responses": jsonObj{"200": resp("stream details", jsonObj{"type": "object"}), "404": errResp("no such gig, or not live")}}},
	}
}

func schemas() jsonObj {
	cats := []any{}
	for _, c := range store.Categories() {
		cats = append(cats, string(c))
	}
	statuses := []any{}
	for _, s := range store.Statuses() {
		statuses = append(statuses, string(s))
	}
	str := func(desc string, minLen, maxLen int) jsonObj {
		o := jsonObj{"type": "string", "description": desc, "maxLength": maxLen}
		if minLen > 0 {
			o["minLength"] = minLen
		}
		return o
	}
	dt := func(desc string) jsonObj {
		return jsonObj{"type": "string", "format": "date-time", "description": desc}
	}
	inputProps := func() jsonObj {
		return jsonObj{
			"creator_name":    str("creator's display name", 1, store.MaxCreatorNameLen),
			"title":           str("no control characters", 1, store.MaxTitleLen),
			"description":     str("may contain newlines", 0, store.MaxDescriptionLen),
			"category":        ref("Category"),
			"price_minor":     jsonObj{"type": "integer", "format": "int64", "minimum": 0, "maximum": store.MaxPriceMinor, "description": "price in the currency's minor unit (cents); 0 = free"},
			"currency":        jsonObj{"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code; required when price_minor > 0"},
			"starts_at":       dt("RFC 3339; stored in UTC at second precision"),
			"ends_at":         dt("RFC 3339; after starts_at, at most 7 days later"),
			"payment_pointer": jsonObj{"type": "string", "maxLength": store.MaxPaymentPointerLen, "description": "wallet address: Interledger payment pointer ($wallet.example/alice, stored as https://wallet.example/alice) or https URL; empty removes it"},
			"access":          jsonObj{"type": "string", "enum": []any{string(store.AccessOpen), string(store.AccessTicket)}, "description": "open: anyone watches and chats; ticket: ticket holders and the creator. A gig with price_minor > 0 is always ticket (the default then)"},
			"capacity":        jsonObj{"type": "integer", "minimum": 0, "maximum": store.MaxCapacity, "description": "seats; 0 = unlimited"},
		}
	}
	gigProps := inputProps()
	gigProps["id"] = jsonObj{"type": "string", "readOnly": true}
	gigProps["status"] = ref("GigStatus")
	gigProps["viewers"] = jsonObj{"type": "integer", "description": "live viewers now"}
	gigProps["tickets_sold"] = jsonObj{"type": "integer", "description": "valid tickets of a ticketed gig"}
	gigProps["seats_left"] = jsonObj{"type": "integer", "description": "present when capacity > 0; 0 = sold out"}
	gigProps["created_at"] = dt("")
	gigProps["updated_at"] = dt("")
	gigProps["started_at"] = dt("when the live show last started; absent before")
	gigProps["ended_at"] = dt("when the live show last ended; absent before")
	createProps := inputProps()
	for k, v := range gigProps {
		createProps[k] = v
	}
	createProps["credentials"] = ref("Credentials")
	required := []any{"creator_name", "title", "category", "starts_at", "ends_at"}
	out := jsonObj{
		"Category":  jsonObj{"type": "string", "enum": cats, "description": "case-insensitive on input"},
		"GigStatus": jsonObj{"type": "string", "enum": statuses},
		"GigInput":  jsonObj{"type": "object", "additionalProperties": false, "required": required, "properties": inputProps()},
		"GigPatch": jsonObj{"type": "object", "additionalProperties": false, "properties": inputProps(),
			"description": "only the fields present change; the result is validated as a whole"},
		"Gig": jsonObj{"type": "object", "properties": gigProps,
			"required": []any{"id", "creator_name", "title", "description", "category", "price_minor", "currency", "starts_at", "ends_at", "status", "viewers", "created_at", "updated_at"}},
		"Credentials": jsonObj{"type": "object", "description": "shown once, at creation", "properties": jsonObj{
			"stream_key":   jsonObj{"type": "string", "description": "OBS stream key; WHIP Bearer token"},
			"manage_token": jsonObj{"type": "string", "description": "Bearer token for PATCH, DELETE, key rotation, moderation"},
			"rtmp_url":     jsonObj{"type": "string", "description": "OBS server URL (path /live)"},
			"whip_path":    jsonObj{"type": "string", "description": "WHIP endpoint, /whip/{id}"},
		}},
		"CreateResponse": jsonObj{"type": "object", "properties": createProps},
		"ListResponse": jsonObj{"type": "object", "required": []any{"gigs"}, "properties": jsonObj{
			"gigs":        jsonObj{"type": "array", "items": ref("Gig")},
			"next_cursor": jsonObj{"type": "string", "description": "absent on the last page"},
		}},
		"StreamKeyResponse": jsonObj{"type": "object", "properties": jsonObj{"stream_key": jsonObj{"type": "string"}}},
		"Status":            jsonObj{"type": "object", "properties": jsonObj{"status": jsonObj{"type": "string"}}},
		"Error": jsonObj{"type": "object", "required": []any{"error"}, "properties": jsonObj{
			"error": jsonObj{"type": "object", "required": []any{"code", "message"}, "properties": jsonObj{
				"code": jsonObj{"type": "string", "enum": []any{codeValidation, codeUnauthorized, codeForbidden,
					codeNotFound, codeConflict, codeTooLarge, codeMediaType, codeUnavailable, codeBadRequest, codeInternal, codeTimeout, codeRateLimited,
					codeSoldOut, codeNotTicketed, codeGigEnded, codePaymentsOff, codePaymentFailed, codeInvalidSig,
					codeInvalidTicket, codeTicketRevoked, codeNotPaid, "ticket_required", "watching_elsewhere"}},
				"message": jsonObj{"type": "string"},
				"field":   jsonObj{"type": "string", "description": "the input field at fault, for validation_failed"},
			}},
		}},
	}
	for k, v := range ticketSchemas() {
		out[k] = v
	}
	return out
}

// buildOpenAPI renders the document for the core routes, the booking routes
// when served, and the mounts.
func buildOpenAPI(mounts []Mount, booking bool) []byte {
	paths := jsonObj{}
	add := func(method, path string, op jsonObj) {
		p, names := openAPIPath(path)
		item, _ := paths[p].(jsonObj)
		if item == nil {
			item = jsonObj{}
			paths[p] = item
		}
		if len(names) > 0 {
			params := []any{}
			for _, n := range names {
				params = append(params, jsonObj{"name": n, "in": "path", "required": true, "schema": jsonObj{"type": "string"}})
			}
			item["parameters"] = params
		}
		item[strings.ToLower(method)] = op
	}
	ops := coreOperations()
	if booking {
		ops = append(ops, ticketOperations()...)
	}
	for _, o := range ops {
		add(o.method, o.path, o.op)
	}
	for _, m := range mounts {
		summary := m.Summary
		if summary == "" {
			summary = m.Method + " " + m.Path
		}
		add(m.Method, m.Path, jsonObj{"summary": summary, "tags": []any{"media"},
			"responses": jsonObj{"default": jsonObj{"description": "see the protocol (WHIP RFC 9725, WHEP, HTTP-FLV, WebSocket)"}}})
	}
	doc := jsonObj{
		"openapi": "3.0.3",
		"info": jsonObj{"title": "BookMyGig API", "version": "1.0.0",
			"description": "Gigs (live shows) for creators and viewers. Errors always use the Error schema."},
		"paths": paths,
		"components": jsonObj{
			"schemas": schemas(),
			"securitySchemes": jsonObj{
				"manageToken": jsonObj{"type": "http", "scheme": "bearer", "description": "the gig's manage token from its create response"},
				"ticket":      jsonObj{"type": "http", "scheme": "bearer", "description": "a ticket token (tk_...) from booking"},
			},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("api: openapi document does not marshal: " + err.Error()) // static data: a bug, caught by tests
	}
	return b
}
