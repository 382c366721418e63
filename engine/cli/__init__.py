"""The `rulebook` command line: argument parsing and printing over the library."""
