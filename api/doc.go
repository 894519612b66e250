// Package api is BookMyGig's HTTP front door: a gin router with the gig REST
// API (/api/gigs), health endpoints, the OpenAPI document, and mount points
// for the plain http.Handlers of media and chat (WHIP, WHEP, FLV, WebSocket
// chat) and the web UI. It is the only package that maps errors to HTTP
// status codes, always in one JSON shape:
//
//	{"error":{"code":"validation_failed","message":"must be 1-120 characters","field":"title"}}
package api
