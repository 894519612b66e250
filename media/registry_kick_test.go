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
