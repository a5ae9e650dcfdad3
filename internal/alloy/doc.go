// Package alloy reads and checks Grafana Alloy configuration files (.alloy).
//
// Alloy's own syntax module cannot be used here, so this package carries a
// small lexer and recursive-descent parser that follow the grammar of
// grafana.com/docs/alloy/latest/get-started/configuration-syntax/, and a
// checker that knows the components this stack uses. Everything is offline:
// nothing is resolved against Docker, Loki or the network.
package alloy

// The parser follows Alloy's own in the places that surprise people:
// a line break after a value ends the statement (so a list or object that
// continues on the next line needs a trailing comma), block labels must be
// double-quoted identifiers, attribute names have no dots, and ".5" is a
// number. It stops at the first error rather than recovering, so every
// reported position is exact.
