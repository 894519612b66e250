package ticket

import "context"

// EventType says what happened to a ticket.
type EventType string

// Event types.
const (
	// EventScreen: a media admission of the ticket started on Screen; every
	// other media session of that ticket ends (watching elsewhere).
	EventScreen EventType = "screen"
	// EventRevoked: the ticket was revoked or refunded; all its sessions end.
	EventRevoked EventType = "revoked"
	// EventResync is never published: a bus hands it to its own subscribers
	// when its connection came back after an outage, in which events may
	// have been lost, so they re-check what they hold.
	EventResync EventType = "resync"
)

// Event is what gates tell each other about tickets. It carries ids only,
// never a token or the holder's data.
type Event struct {
	Type     EventType `json:"type"`
	GigID    string    `json:"gig_id"`
	TicketID string    `json:"ticket_id"`
	Screen   string    `json:"screen,omitempty"`
	// Admission identifies the media admission that sent a screen event, so
	// the node that admitted it knows its own event when it comes back.
	Admission string `json:"admission,omitempty"`
	Node      string `json:"node,omitempty"`
}

// Bus carries gate events to every node (every subscriber, the publishing
// node included, sees every event, all in the same order) and remembers
// each ticket's current screen.
type Bus interface {
	// Publish sends ev to every subscriber. A screen event also records
	// ev.Screen as the ticket's current screen, in the same step.
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers h for every event until cancel is called. h runs
	// on the bus's delivery goroutine: it must be quick and must not Publish.
	Subscribe(h func(Event)) (cancel func())
	// CurrentScreen is the screen of the ticket's last media admission, ""
	// when there was none.
	CurrentScreen(ctx context.Context, gigID, ticketID string) (string, error)
}
