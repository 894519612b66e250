package cluster

import (
	"testing"
	"time"
)

// TestOriginOwnership: the newest claim wins, a loser's release changes
// nothing, the owner's release frees the gig.
func TestOriginOwnership(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	a := newNode(rdb, "a", Config{})
	b := newNode(rdb, "b", Config{})

	if got := originOf(t, ctx, a, "g1"); got != "" {
		t.Fatalf("origin before any claim: %q", got)
	}
	mustDo(t, a.ClaimOrigin(ctx, "g1"))
	o, ok, err := b.Origin(ctx, "g1")
	mustDo(t, err)
	if !ok || o.Node != "a" || o.RelayURL != a.RelayURL() || time.Since(o.Since) > time.Minute {
		t.Fatalf("origin after a's claim: %+v %v", o, ok)
	}
	// Claiming again (publisher reconnected to the same node) keeps since.
	time.Sleep(20 * time.Millisecond)
	mustDo(t, a.ClaimOrigin(ctx, "g1"))
	o2, _, _ := b.Origin(ctx, "g1")
	if !o2.Since.Equal(o.Since) {
		t.Fatalf("re-claim changed since: %v -> %v", o.Since, o2.Since)
	}

	mustDo(t, b.ClaimOrigin(ctx, "g1"))
	if got := originOf(t, ctx, a, "g1"); got != "b" {
		t.Fatalf("origin after b's claim: %q, want b", got)
	}
	mustDo(t, a.ReleaseOrigin(ctx, "g1"))
	if got := originOf(t, ctx, a, "g1"); got != "b" {
		t.Fatalf("a's release took the gig from b: origin %q", got)
	}
	// a's renewal leaves b's claim alone too.
	mustDo(t, a.RenewOrigins(ctx, []string{"g1"}))
	if got := originOf(t, ctx, a, "g1"); got != "b" {
		t.Fatalf("a's renewal took the gig from b: origin %q", got)
	}
	if trees := must[[]GigTree](t)(a.Tree(ctx)); len(trees) != 1 || trees[0].Origin != "b" {
		t.Fatalf("Tree while b is origin: %+v", trees)
	}
	mustDo(t, b.ReleaseOrigin(ctx, "g1"))
	if got := originOf(t, ctx, a, "g1"); got != "" {
		t.Fatalf("origin after b's release: %q", got)
	}
	if trees := must[[]GigTree](t)(a.Tree(ctx)); len(trees) != 0 {
		t.Fatalf("Tree after release: %+v", trees)
	}
}

// TestOriginExpiry: a claim lasts while renewed and expires OriginTTL
// after the last renewal; a renewal after expiry claims the gig again.
func TestOriginExpiry(t *testing.T) {
	ctx := testCtx(t)
	rdb := newRedis(t)
	const ttl = 300 * time.Millisecond
	a := newNode(rdb, "a", Config{OriginTTL: ttl})

	mustDo(t, a.ClaimOrigin(ctx, "g1"))
	mustDo(t, a.ClaimOrigin(ctx, "g2"))
	for range 5 {
		time.Sleep(ttl / 3)
		mustDo(t, a.RenewOrigins(ctx, []string{"g1"}))
	}
	// 500 ms later g1 is still a's; g2, never renewed, expired.
	if got := originOf(t, ctx, a, "g1"); got != "a" {
		t.Fatalf("renewed g1: origin %q", got)
	}
	if got := originOf(t, ctx, a, "g2"); got != "" {
		t.Fatalf("unrenewed g2: origin %q, want none", got)
	}
	trees := must[[]GigTree](t)(a.Tree(ctx))
	if len(trees) != 1 || trees[0].GigID != "g1" {
		t.Fatalf("Tree lists %+v, want g1 only", trees)
	}
	if n := rdb.SCard(ctx, keyOrigins).Val(); n != 1 {
		t.Fatalf("origins set keeps %d gigs after Tree, want 1", n)
	}

	time.Sleep(ttl + 100*time.Millisecond)
	if got := originOf(t, ctx, a, "g1"); got != "" {
		t.Fatalf("g1 after renewals stopped: origin %q, want none", got)
	}
	// After a Redis hiccup the node still has the publisher: renewing puts
	// the claim back.
	mustDo(t, a.RenewOrigins(ctx, []string{"g1"}))
	if got := originOf(t, ctx, a, "g1"); got != "a" {
		t.Fatalf("g1 after renewing an expired claim: origin %q, want a", got)
	}
}
