"""The pool's HTTP face: routes, schemas, the event stream, metrics and plots."""
