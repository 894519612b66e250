// Package metrics exposes the server's counters to Prometheus at
// GET /metrics, for operators.
//
// It is the only package that imports the Prometheus client. The other
// packages keep cheap atomic counters and snapshot methods of their own;
// cmd turns those snapshots into the plain Sources this package reads at
// scrape time, so nothing here runs on a media path and no package depends
// on another to be measured. The registry is private to each Metrics (no
// global default registry) and carries the Go runtime and process
// collectors too.
package metrics
