// Package bench holds the performance benchmarks behind docs/performance.md
// (`make bench`): refresh cost and time at scale, provider memory, task
// polling, parallel clones and apply time against the dependency graph's
// critical path, all against the simulator. It has no code of its own: the
// benchmarks are its test files (Linux only, as the simulator), and
// ./summary turns their output into the published table.
package bench
