package api

import "github.com/bookmygig/bookmygig/store"

// ticketOperations documents the booking routes (served when Deps.Tickets
// and Deps.Gate are set).
func ticketOperations() []operation {
	manage := []any{jsonObj{"manageToken": []any{}}}
	ticketAuth := []any{jsonObj{"ticket": []any{}}}
	body := func(schema string) jsonObj {
		return jsonObj{"required": true, "content": jsonContent(ref(schema))}
	}
	authErrs := func(r jsonObj) jsonObj {
		r["401"] = errResp("missing manage token")
		r["403"] = errResp("wrong manage token")
		r["404"] = errResp("no such gig or ticket")
		r["503"] = errResp("storage unavailable")
		return r
	}
	return []operation{
		{"POST", "/api/gigs/:id/tickets", jsonObj{"summary": "Book a ticket: a free ticketed gig answers with the ticket and its token (shown once); a paid gig with a checkout_url, and the token admits once the payment is confirmed",
			"tags": []any{"tickets"}, "requestBody": body("BookRequest"),
			"responses": jsonObj{
				"201": resp("booked (TicketResponse) or waiting for payment (BookingResponse)", jsonObj{"oneOf": []any{ref("TicketResponse"), ref("BookingResponse")}}),
				"400": errResp("invalid name or email (field says which)"),
				"404": errResp("no such gig"),
				"409": errResp("sold_out, not_ticketed (open gig: no ticket needed) or gig_ended"),
				"429": errResp("rate_limited: too many bookings from this address (Retry-After)"),
				"502": errResp("payment_failed: the payment provider did not answer"),
				"503": errResp("payments_unavailable (paid booking not configured) or storage unavailable"),
			}}},
		{"GET", "/api/gigs/:id/tickets", jsonObj{"summary": "The gig's tickets, seats sold and revenue (manage token)",
			"tags": []any{"tickets"}, "security": manage,
			"responses": authErrs(jsonObj{"200": resp("tickets", ref("TicketList"))})}},
		{"GET", "/api/gigs/:id/tickets/me", jsonObj{"summary": "The ticket a token belongs to; watching_elsewhere says whether ?screen= is still its current screen",
			"tags": []any{"tickets"}, "security": ticketAuth,
			"parameters": []any{queryParam("screen", "the player's screen id, as sent with ?screen= on WHEP/FLV", jsonObj{"type": "string", "maxLength": maxScreenLen})},
			"responses": jsonObj{
				"200": resp("the ticket", ref("MyTicket")),
				"202": resp("payment not confirmed yet: poll again", jsonObj{"type": "object", "properties": jsonObj{"status": jsonObj{"type": "string", "enum": []any{"pending"}}}}),
				"401": errResp("invalid_ticket or ticket_revoked"),
				"503": errResp("storage unavailable"),
			}}},
		{"POST", "/api/gigs/:id/tickets/comp", jsonObj{"summary": "Issue a complimentary ticket at any price, without payment (manage token)",
			"tags": []any{"tickets"}, "security": manage, "requestBody": body("CompRequest"),
			"responses": authErrs(jsonObj{"201": resp("the ticket and its token, shown once", ref("TicketResponse")),
				"400": errResp("invalid input"), "409": errResp("sold_out or gig_ended")})}},
		{"POST", "/api/gigs/:id/tickets/:ticket/revoke", jsonObj{"summary": "Revoke a ticket (manage token): its playback and chat end on every node and it cannot reconnect",
			"tags": []any{"tickets"}, "security": manage,
			"responses": authErrs(jsonObj{"200": resp("the revoked ticket", ref("OneTicket")), "409": errResp("already revoked or refunded")})}},
		{"POST", "/api/gigs/:id/tickets/:ticket/refund", jsonObj{"summary": "Refund a paid ticket through the payment provider and revoke it (manage token)",
			"tags": []any{"tickets"}, "security": manage,
			"responses": authErrs(jsonObj{"200": resp("the refunded ticket", ref("OneTicket")),
				"409": errResp("not_paid (comp or free ticket: revoke it) or already ended"), "502": errResp("payment_failed")})}},
		{"POST", "/api/payments/stripe/webhook", jsonObj{"summary": "Stripe webhook (register this URL for checkout.session.completed); the Stripe-Signature header is verified",
			"tags": []any{"payments"},
			"responses": jsonObj{"200": resp("received", jsonObj{"type": "object"}), "400": errResp("invalid_signature"),
				"503": errResp("payments_unavailable or storage unavailable: Stripe retries")}}},
	}
}

func ticketSchemas() jsonObj {
	str := func(desc string, maxLen int) jsonObj {
		return jsonObj{"type": "string", "description": desc, "maxLength": maxLen}
	}
	return jsonObj{
		"BookRequest": jsonObj{"type": "object", "additionalProperties": false, "required": []any{"name", "email"}, "properties": jsonObj{
			"name": str("the ticket holder's name, shown in chat", 80), "email": str("where the receipt goes", 254)}},
		"CompRequest": jsonObj{"type": "object", "additionalProperties": false, "required": []any{"name", "email"}, "properties": jsonObj{
			"name": str("", 80), "email": str("", 254),
			"price_minor": jsonObj{"type": "integer", "minimum": 0, "maximum": store.MaxPriceMinor, "description": "recorded price; nothing is charged"}}},
		"Ticket": jsonObj{"type": "object", "properties": jsonObj{
			"id": jsonObj{"type": "string"}, "gig_id": jsonObj{"type": "string"}, "name": jsonObj{"type": "string"}, "email": jsonObj{"type": "string"},
			"status":     jsonObj{"type": "string", "enum": []any{"valid", "revoked", "refunded"}},
			"kind":       jsonObj{"type": "string", "enum": []any{"free", "paid", "comp"}},
			"paid_minor": jsonObj{"type": "integer"}, "currency": jsonObj{"type": "string"},
			"created_at": jsonObj{"type": "string", "format": "date-time"}, "ended_at": jsonObj{"type": "string", "format": "date-time"}}},
		"TicketResponse": jsonObj{"type": "object", "properties": jsonObj{"ticket": ref("Ticket"),
			"ticket_token": jsonObj{"type": "string", "description": "tk_...: shown once; WHEP Authorization: Bearer, FLV ?ticket=, chat join \"ticket\""}}},
		"BookingResponse": jsonObj{"type": "object", "properties": jsonObj{
			"booking_id": jsonObj{"type": "string"}, "status": jsonObj{"type": "string", "enum": []any{"pending"}},
			"checkout_url": jsonObj{"type": "string", "description": "send the buyer here to pay"},
			"ticket_token": jsonObj{"type": "string", "description": "keep it: it admits once the payment is confirmed"}}},
		"MyTicket":  jsonObj{"type": "object", "properties": jsonObj{"ticket": ref("Ticket"), "watching_elsewhere": jsonObj{"type": "boolean"}}},
		"OneTicket": jsonObj{"type": "object", "properties": jsonObj{"ticket": ref("Ticket")}},
		"TicketList": jsonObj{"type": "object", "properties": jsonObj{
			"tickets": jsonObj{"type": "array", "items": ref("Ticket")}, "sold": jsonObj{"type": "integer"},
			"capacity": jsonObj{"type": "integer", "description": "0 = unlimited"}, "revenue_minor": jsonObj{"type": "integer"},
			"currency": jsonObj{"type": "string"}, "payments_enabled": jsonObj{"type": "boolean"}}},
	}
}
