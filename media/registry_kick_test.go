package media

import (
	"errors"
	"testing"
)

func TestRegistryKickEndsTheLiveStreamWithItsCause(t *testing.T) {
	reg := NewRegistry(RegistryConfig{}, nil)
	var events []Event
	reg.OnEvent(func(ev Event) { events = append(events, ev) })
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	if err := reg.Publish(s); err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("Err of a live stream = %v, want nil", err)
	}
	rotated := errors.New("stream key rotated")
	if !reg.Kick("g", rotated) {
		t.Fatal("Kick of a live gig reported no stream")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("kicked stream's Done is open: its publisher would not notice")
	}
	if err := s.Err(); !errors.Is(err, ErrKicked) || !errors.Is(err, rotated) {
		t.Fatalf("Err = %v, want ErrKicked wrapping the cause", err)
	}
	if err := s.WriteFrame(video(0, true)); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("write after kick = %v, want ErrStreamClosed", err)
	}
	if _, ok := reg.Get("g"); ok {
		t.Fatal("gig still live after kick")
	}
	if len(events) != 2 || events[1].Type != Unpublished || events[1].Stream != s {
		t.Fatalf("events = %+v, want Published then Unpublished of the kicked stream", events)
	}

	// The publisher's own cleanup afterwards changes nothing.
	reg.Unpublish(s)
	if len(events) != 2 {
		t.Fatalf("publisher cleanup after kick emitted %d events, want none", len(events)-2)
	}
	if reg.Kick("g", nil) {
		t.Fatal("Kick of a gig with no stream reported one")
	}

	// The gig can go live again (end show without key rotation).
	next := NewStream(StreamConfig{GigID: "g"}, nil)
	if err := reg.Publish(next); err != nil {
		t.Fatalf("publish after kick: %v", err)
	}
	if !reg.Kick("g", nil) || !errors.Is(next.Err(), ErrKicked) {
		t.Fatalf("Kick without a cause: Err = %v, want ErrKicked", next.Err())
	}
}

func TestStreamErrTellsAnOrdinaryEndFromAKick(t *testing.T) {
	s := NewStream(StreamConfig{GigID: "g"}, nil)
	s.Close()
	s.CloseWithCause(ErrKicked) // too late: the first end wins
	if err := s.Err(); err != ErrStreamClosed {
		t.Fatalf("Err after Close = %v, want ErrStreamClosed", err)
	}
}

// A creator reconnecting to a node that relays the gig from another node
// takes the gig over; a relay never displaces a publisher.
func TestPublisherTakesOverRelayedCopy(t *testing.T) {
	r := NewRegistry(RegistryConfig{}, nil)
	relay := NewStream(StreamConfig{GigID: "g", Source: SourceRelay}, nil)
	if err := r.Publish(relay); err != nil {
		t.Fatal(err)
	}
	pub := NewStream(StreamConfig{GigID: "g", Source: "rtmp"}, nil)
	if err := r.Publish(pub); err != nil {
		t.Fatalf("publisher refused while the gig was only relayed here: %v", err)
	}
	if !relay.Closed() {
		t.Fatal("the relayed copy is still open after the publisher took over")
	}
	if got, _ := r.Get("g"); got != pub {
		t.Fatal("the registry does not serve the publisher's stream")
	}
	again := NewStream(StreamConfig{GigID: "g", Source: SourceRelay}, nil)
	if err := r.Publish(again); !errors.Is(err, ErrAlreadyLive) {
		t.Fatalf("a relay displaced a live publisher: %v", err)
	}
}
