"""One module per `keylike` command: `add_arguments(parser)` and `run(args) -> int`."""
